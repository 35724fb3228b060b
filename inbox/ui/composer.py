"""The composer under a conversation's thread: replies, private notes, files, templates.

Endpoints (all scoped to the agent's current workspace; another workspace's
conversation is a 404 exactly like a missing one):

* `POST /inbox/c/<id>/send/` sends what the composer holds through
  `messaging.services.send_message`.
* `POST /inbox/c/<id>/upload/` stores one file with
  `messaging.services.media.create_media_upload` and answers JSON
  `{url, type, filename, size}`; composer.js uploads with XMLHttpRequest to
  show progress, and the send then refers to the file by that URL.

What one send becomes (documented in the README's inbox section too):

* text only: one text message;
* files: one message per file, in the order attached. The text rides as the
  caption of the first file when that file can carry one (image, video,
  document) and the text fits a caption (1024 characters); otherwise it is
  sent as its own text message before the files;
* a template (the WhatsApp 24-hour window is closed): one template message.

All messages of one send are created in one transaction, so a refusal of
any of them (an expired upload, a content type the channel cannot carry)
sends none, and the agent's draft is shown again intact. Each composer
render carries a fresh random key; the messages of a send use it as their
idempotency key, so a double submit or a retried request sends once.

Answers: an htmx request gets the composer back (`outerHTML` swap) — empty
after a send, or with the draft and the service's error (status 422, which
composer.js lets htmx swap). Without JavaScript the form posts normally and
is redirected back to the conversation; the draft and the error travel in
the session (one entry, popped by the next render), so nothing typed is
lost there either.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from inbox.errors import DomainError, ValidationFailed
from inbox.models import User, Workspace
from inbox.ui.context import inbox_view, is_htmx
from messaging.content import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH
from messaging.errors import ConversationNotFound
from messaging.models import Conversation, Message
from messaging.selectors import get_conversation_for, inbox_thread_messages
from messaging.services import send_message
from messaging.services.media import (
    MEDIA_RULES,
    create_media_upload,
    guess_media_type,
    media_upload_url,
)

MODES = ("reply", "note")
MEDIA_TYPES = tuple(MEDIA_RULES)
CAPTIONED_TYPES = ("image", "video", "document")
MAX_ATTACHMENTS = 10
MAX_TEMPLATE_PARAMS = 20
DEFAULT_TEMPLATE_LANGUAGE = "en_US"
# Session key of the one draft a no-JavaScript send carries across its redirect.
SESSION_DRAFT_KEY = "inbox_composer_draft"
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# The thread's message bubble (the conversation page's) and the list it goes in:
# a send answers the new bubbles too.
MESSAGE_TEMPLATES = ("inbox/conversation/_message.html",)
THREAD_SELECTOR = "#thread-items"


# --- What the composer shows -------------------------------------------------------


@dataclass(frozen=True)
class MessageWindow:
    """The channel's free-form reply window (WhatsApp: 24 hours after the contact wrote)."""

    hours: int
    closes_at: datetime | None
    is_open: bool
    remaining: str  # "3 h", "25 min"; empty once closed


def message_window(conversation: Conversation, now: datetime | None = None) -> MessageWindow | None:
    """The window's state, or None when the channel has no such limit.

    The same rule as `messaging.services.messages._check_message_window`: the
    window runs `message_window_hours` from the contact's last inbound message,
    and without one it has never opened.
    """
    hours = conversation.channel.capabilities.message_window_hours
    if hours is None:
        return None
    now = now or timezone.now()
    last = conversation.last_inbound_at
    closes_at = last + timedelta(hours=hours) if last else None
    if closes_at is None or closes_at <= now:
        return MessageWindow(hours=hours, closes_at=closes_at, is_open=False, remaining="")
    left = (closes_at - now).total_seconds()
    if left >= 3600:
        remaining = f"{int(left // 3600)} h"
    elif left >= 60:
        remaining = f"{int(left // 60)} min"
    else:
        remaining = "less than a minute"
    return MessageWindow(hours=hours, closes_at=closes_at, is_open=True, remaining=remaining)


@dataclass
class Draft:
    """What the composer holds: read from a POST, echoed back on an error."""

    mode: str = "reply"
    kind: str = "text"  # "text" (text and files) or "template"
    text: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    unreadable_attachments: int = 0
    template_name: str = ""
    template_language: str = DEFAULT_TEMPLATE_LANGUAGE
    template_params: list[str] = field(default_factory=list)
    key: str = ""

    @classmethod
    def from_post(cls, data: Any) -> Draft:
        mode = data.get("mode") or "reply"
        attachments: list[dict[str, Any]] = []
        unreadable = 0
        for raw in data.getlist("attachment")[: MAX_ATTACHMENTS + 1]:
            item = _parse_attachment(raw)
            if item is None:
                unreadable += 1
            else:
                attachments.append(item)
        params = [p.strip() for p in data.getlist("template_param")[:MAX_TEMPLATE_PARAMS]]
        while params and not params[-1]:
            params.pop()
        key = data.get("key") or ""
        return cls(
            mode=mode if mode in MODES else "reply",
            kind="template" if data.get("kind") == "template" else "text",
            # Browsers post textarea line breaks as CRLF; the service counts characters.
            text=(data.get("text") or "").replace("\r\n", "\n"),
            attachments=attachments,
            unreadable_attachments=unreadable,
            template_name=(data.get("template_name") or "").strip(),
            template_language=(data.get("template_language") or "").strip()
            or DEFAULT_TEMPLATE_LANGUAGE,
            template_params=params,
            key=key if _KEY_RE.match(key) else "",
        )

    def to_session(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("unreadable_attachments")
        return data

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> Draft:
        known = {f for f in cls.__dataclass_fields__ if f != "unreadable_attachments"}
        return cls(**{k: v for k, v in data.items() if k in known})


def _parse_attachment(raw: str) -> dict[str, Any] | None:
    """One `attachment` field: the JSON the upload endpoint answered, as the page keeps it."""
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    url, kind = data.get("url"), data.get("type")
    if not isinstance(url, str) or not url or kind not in MEDIA_TYPES:
        return None
    filename = data.get("filename") if isinstance(data.get("filename"), str) else ""
    size = data.get("size") if isinstance(data.get("size"), int) else None
    item = {"url": url[:2000], "type": kind, "filename": filename[:255], "size": size}
    item["json"] = json.dumps({k: item[k] for k in ("url", "type", "filename", "size")})
    return item


# How a channel that cannot send is described: "<name> is in error: <reason>".
_CHANNEL_STATE = {
    "inactive": "is inactive",
    "error": "is in error",
    "pending": "is not activated yet",
}


def _reply_blocked_reason(conversation: Conversation) -> str:
    channel = conversation.channel
    if channel.is_active:
        return ""
    reason = f"{channel.name} {_CHANNEL_STATE.get(channel.status, f'is {channel.status}')}"
    if channel.status_reason:
        reason += f": {channel.status_reason}"
    return reason


def composer_context(
    request: HttpRequest,
    conversation: Conversation,
    *,
    draft: Draft | None = None,
    error: str = "",
    sent: bool = False,
    bubbles: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything `_composer_form.html` reads; no queries beyond the conversation's joins.

    The conversation must come with its channel and contact loaded, as
    `messaging.selectors.get_conversation_for` gives it.
    """
    blocked = _reply_blocked_reason(conversation)
    window = message_window(conversation, now)
    capabilities = conversation.channel.capabilities
    draft = draft or Draft(mode="note" if blocked else "reply")
    mode = "note" if blocked else draft.mode
    window_closed = window is not None and not window.is_open
    can_template = capabilities.supports("template") and not blocked
    show_template = mode == "reply" and window_closed and can_template
    uid = conversation.public_id
    return {
        "conversation": conversation,
        "contact": conversation.contact,
        "channel": conversation.channel,
        "workspace": request.workspace,
        "agent": request.user,
        "uid": uid,
        "draft": draft,
        "mode": mode,
        "error": error,
        "sent": sent,
        # Already-rendered (escaped) thread bubbles of what was just sent.
        "bubbles": mark_safe(bubbles),  # noqa: S308 - rendered by the template engine above
        "thread_selector": THREAD_SELECTOR,
        # A new key per render: one send, however often it is submitted.
        "key": secrets.token_urlsafe(16),
        "reply_blocked": blocked,
        "window": window,
        "window_closed": window_closed,
        "can_template": can_template,
        "show_template": show_template,
        "show_text": not show_template,
        "accept": ",".join(sorted({m for rule in MEDIA_RULES.values() for m in rule.mime_types})),
        "max_text": MAX_TEXT_LENGTH,
        "template_params": draft.template_params or [""],
        "send_url": reverse("inbox:composer-send", args=[uid]),
        "upload_url": reverse("inbox:composer-upload", args=[uid]),
        "canned_url": reverse("inbox:canned-search"),
    }


# --- Sending -------------------------------------------------------------------------


def _template_content(draft: Draft) -> dict[str, Any]:
    if not draft.template_name:
        raise ValidationFailed("Enter the template's name.", field="template_name")
    template: dict[str, Any] = {"name": draft.template_name, "language": draft.template_language}
    if draft.template_params:
        template["components"] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": p} for p in draft.template_params],
            }
        ]
    return {"type": "template", "template": template}


def draft_contents(draft: Draft) -> list[dict[str, Any]]:
    """The content objects one send becomes, in order (see the module docstring)."""
    if draft.kind == "template":
        return [_template_content(draft)]
    if draft.unreadable_attachments:
        raise ValidationFailed(
            "An attachment could not be read; remove it and attach the file again.",
            field="attachment",
        )
    if len(draft.attachments) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"Attach at most {MAX_ATTACHMENTS} files.", field="attachment")
    text = draft.text.strip()
    if not text and not draft.attachments:
        raise ValidationFailed("Write a message or attach a file.", field="text")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationFailed(
            f"The message is {len(text)} characters; the limit is {MAX_TEXT_LENGTH}.",
            field="text",
        )
    contents: list[dict[str, Any]] = []
    files = []
    for item in draft.attachments:
        content: dict[str, Any] = {"type": item["type"], "url": item["url"]}
        if item["type"] == "document" and item["filename"]:
            content["filename"] = item["filename"]
        files.append(content)
    if text:
        first = files[0] if files else None
        if first and first["type"] in CAPTIONED_TYPES and len(text) <= MAX_CAPTION_LENGTH:
            first["caption"] = text
        else:
            contents.append({"type": "text", "text": text})
    return contents + files


def _idempotency_key(key: str, index: int, content: dict[str, Any]) -> str | None:
    """The same composer render posting the same content again sends nothing new.

    The content's digest is part of the key: a draft edited after a failed
    request is a new message, never silently answered with the old one.
    """
    if not key:
        return None
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
    return f"inbox:{key}:{index}:{digest}"


def send_draft(
    *, workspace: Workspace, conversation: Conversation, draft: Draft, sender: User
) -> list[Message]:
    """Send what the composer holds: all of it or, on any refusal, nothing."""
    contents = draft_contents(draft)
    is_private = draft.mode == "note" and draft.kind != "template"
    sent = []
    with transaction.atomic():
        for index, content in enumerate(contents):
            sent.append(
                send_message(
                    workspace=workspace,
                    conversation=conversation,
                    content=content,
                    sender_user=sender,
                    is_private=is_private,
                    idempotency_key=_idempotency_key(draft.key, index, content),
                )
            )
    return sent


def _conversation_or_404(request: HttpRequest, public_id: str) -> Conversation:
    try:
        return get_conversation_for(request.workspace, public_id)
    except ConversationNotFound as exc:
        raise Http404(exc.message) from exc


def conversation_url(conversation: Conversation) -> str:
    """The conversation page (helper 6C1's view), where a no-JavaScript send returns."""
    try:
        return reverse("inbox:conversation", args=[conversation.public_id])
    except NoReverseMatch:
        return f"/inbox/c/{conversation.public_id}/"


def sent_bubbles(request: HttpRequest, conversation: Conversation, sent: list[Message]) -> str:
    """The new messages as the thread renders them (6C1's `_message.html`).

    They ride in the composer's answer inside a `<template>`; composer.js
    moves them into the thread, replacing a bubble a live update may have
    put there first, so the agent's own message appears at once and never
    twice. Three queries (messages, attachments, reactions) however many
    a send made; empty if the page has no message template.
    """
    try:
        template = select_template(MESSAGE_TEMPLATES)
    except TemplateDoesNotExist:
        return ""
    rows = inbox_thread_messages(conversation).filter(pk__in=[m.pk for m in sent])
    context = {"conversation": conversation, "contact": conversation.contact}
    return "".join(
        template.render({**context, "message": message}, request)
        for message in rows.order_by("created_at", "id")
    )


def render_composer(
    request: HttpRequest,
    conversation: Conversation,
    *,
    status: int = 200,
    **kwargs: Any,
) -> HttpResponse:
    html = render_to_string(
        "inbox/conversation/_composer_form.html",
        composer_context(request, conversation, **kwargs),
        request=request,
    )
    return HttpResponse(html, status=status)


@require_POST
@inbox_view
def send_view(request: HttpRequest, public_id: str) -> HttpResponse:
    conversation = _conversation_or_404(request, public_id)
    draft = Draft.from_post(request.POST)
    try:
        messages = send_draft(
            workspace=request.workspace, conversation=conversation, draft=draft, sender=request.user
        )
    except DomainError as exc:
        if is_htmx(request):
            return render_composer(
                request, conversation, draft=draft, error=exc.message, status=422
            )
        request.session[SESSION_DRAFT_KEY] = {
            "conversation": conversation.public_id,
            "draft": draft.to_session(),
            "error": exc.message,
        }
        return redirect(conversation_url(conversation))
    # The next composer starts empty, in the mode the agent was writing in.
    fresh = Draft(mode=draft.mode)
    if is_htmx(request):
        return render_composer(
            request,
            conversation,
            draft=fresh,
            sent=True,
            bubbles=sent_bubbles(request, conversation, messages),
        )
    request.session[SESSION_DRAFT_KEY] = {
        "conversation": conversation.public_id,
        "draft": fresh.to_session(),
        "sent": True,
    }
    return redirect(conversation_url(conversation))


def pop_session_draft(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    """The draft a no-JavaScript send left for this conversation's composer, once."""
    session = getattr(request, "session", None)
    if session is None:
        return {}
    stash = session.get(SESSION_DRAFT_KEY)
    if not isinstance(stash, dict) or stash.get("conversation") != conversation.public_id:
        return {}
    del session[SESSION_DRAFT_KEY]
    return {
        "draft": Draft.from_session(stash.get("draft") or {}),
        "error": str(stash.get("error") or ""),
        "sent": bool(stash.get("sent")),
    }


# --- Uploading -------------------------------------------------------------------------


def _json_error(error: DomainError) -> JsonResponse:
    field_name = next((d.get("field") for d in error.details if d.get("field")), None)
    return JsonResponse(
        {"error": {"code": error.code, "message": error.message, "field": field_name}},
        status=error.status,
    )


@require_POST
@inbox_view
def upload_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Store one file for the composer; the type is read from the file's bytes."""
    _conversation_or_404(request, public_id)
    upload_file = request.FILES.get("file")
    try:
        if upload_file is None:
            raise ValidationFailed("Choose a file to upload.", field="file")
        filename = upload_file.name or ""
        media_type = guess_media_type(upload_file, filename, upload_file.size or 0)
        upload = create_media_upload(
            workspace=request.workspace,
            file=upload_file,
            filename=filename,
            size=upload_file.size or 0,
            media_type=media_type,
            declared_mime=getattr(upload_file, "content_type", "") or "",
        )
    except DomainError as exc:
        return _json_error(exc)
    return JsonResponse(
        {
            "id": upload.public_id,
            "url": media_upload_url(upload),
            "type": upload.type,
            "filename": upload.filename,
            "mimeType": upload.mime_type,
            "size": upload.size,
        },
        status=201,
    )
