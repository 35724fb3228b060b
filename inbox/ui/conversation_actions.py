"""The conversation page's actions: POST `/inbox/c/<id>/actions/<action>/` and message retry.

Every action is a form (CSRF token included) that calls one service of
`messaging.services.conversations`: assign to me, to another agent or to
nobody, set the status (open / pending), snooze until a time, close with a
resolution and reason, reopen, set the priority, add or remove a label. With
htmx the answer is the re-rendered header (`#conv-header`, which holds the
actions); without JavaScript it is a redirect back to the page. A service's
refusal (a DomainError) comes back inline in the header, with status 422,
and changes nothing.

Snooze times are read in the browser's time zone: conversation.js fills the
hidden `tz` field with the IANA zone name, so "tomorrow 9:00" and a
`datetime-local` value mean the agent's 9:00, daylight saving included. Without
it the server's zone (settings.TIME_ZONE) is assumed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from inbox.errors import DomainError, ValidationFailed
from inbox.models import User
from inbox.ui.context import inbox_view, is_htmx, render_inbox
from inbox.ui.conversation_view import conversation_or_404, message_or_404, pane_params
from messaging.models import Conversation
from messaging.selectors import agents_for, get_agent_for
from messaging.services import (
    assign_conversation,
    close_conversation,
    reopen_conversation,
    retry_message,
    snooze_conversation,
    update_conversation,
)
from messaging.services.conversations import set_conversation_status

MAX_LABEL = 64
MAX_REASON = 500
# Status of an answer that carries a refusal to show inline (conversation.js swaps it).
ERROR_STATUS = 422
# Field names of the services' errors, as the forms name them.
FIELD_ALIASES = {"snoozedUntil": "until", "assigneeId": "assignee"}
SNOOZE_PRESETS = (("1h", "1 hour"), ("tomorrow", "Tomorrow 9:00"), ("nextweek", "Next week"))
MORNING = time(9, 0)
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")

Outcome = tuple[Conversation, str]


# --- Header -----------------------------------------------------------------------------


def header_context(
    request: HttpRequest,
    conversation: Conversation,
    agents: list[User],
    *,
    error: DomainError | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """What `_header.html` reads: the conversation, the agents to assign, the choices.

    After a refusal, the values the agent typed (label, reason, time) are put
    back in their fields.
    """
    error_field = ""
    if error is not None and error.details:
        raw = str(error.details[0].get("field") or "")
        error_field = FIELD_ALIASES.get(raw, raw)
    status = conversation.status
    return {
        "conversation": conversation,
        "agents": agents,
        "is_mine": conversation.assignee_id == request.user.pk,
        "is_closed": status == Conversation.Status.CLOSED,
        "priorities": list(Conversation.Priority.choices),
        "resolutions": list(Conversation.Resolution.choices),
        "snooze_presets": SNOOZE_PRESETS,
        "action_error": error.message if error is not None else "",
        "action_error_field": error_field,
        "action_notice": notice,
        "posted": request.POST if error is not None else {},
        "back_url": pane_params(request).url(),
        "header_url": reverse("inbox:conversation-header", args=[conversation.public_id]),
        "max_label": MAX_LABEL,
        "max_reason": MAX_REASON,
    }


def render_header(
    request: HttpRequest,
    conversation: Conversation,
    *,
    error: DomainError | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    agents = list(agents_for(request.workspace))
    return render_inbox(
        request,
        "inbox/conversation/_header.html",
        header_context(request, conversation, agents, error=error, notice=notice),
        status=status,
    )


# --- Snooze times -------------------------------------------------------------------------


def browser_zone(name: str | None) -> Any:
    """The agent's time zone from the form's `tz` (an IANA name), else the server's."""
    name = (name or "").strip()
    if name and len(name) <= 64 and ".." not in name and _ZONE_NAME.match(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.get_current_timezone()


def snooze_until(post: QueryDict, now: datetime | None = None) -> datetime:
    """When to wake the conversation, from a quick choice or the date-and-time field.

    `1h` is an hour from now; `tomorrow` is 9:00 tomorrow and `nextweek`
    9:00 next Monday, both in the agent's zone. A typed time without an
    offset (what `datetime-local` sends) is read in that zone too.
    """
    now = now or timezone.now()
    zone = browser_zone(post.get("tz"))
    local_now = now.astimezone(zone)
    preset = post.get("preset") or ""
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "tomorrow":
        return datetime.combine(local_now.date() + timedelta(days=1), MORNING, tzinfo=zone)
    if preset == "nextweek":
        days = 7 - local_now.weekday()  # Monday is 0: always the coming Monday
        return datetime.combine(local_now.date() + timedelta(days=days), MORNING, tzinfo=zone)
    raw = (post.get("until") or "").strip()
    if not raw:
        raise ValidationFailed("Choose when the conversation should come back.", field="until")
    try:
        parsed = parse_datetime(raw[:40])
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationFailed("Enter a valid date and time.", field="until")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=zone)
    return parsed


# --- Actions ------------------------------------------------------------------------------


def _assign_me(request: HttpRequest, conversation: Conversation) -> Outcome:
    user = request.user
    return assign_conversation(conversation=conversation, assignee=user, by=user), (
        "Assigned to you."
    )


def _assign(request: HttpRequest, conversation: Conversation) -> Outcome:
    agent = get_agent_for(request.workspace, request.POST.get("assignee") or "", field="assignee")
    changed = assign_conversation(conversation=conversation, assignee=agent, by=request.user)
    return changed, f"Assigned to {agent.name}."


def _unassign(request: HttpRequest, conversation: Conversation) -> Outcome:
    changed = assign_conversation(conversation=conversation, assignee=None, by=request.user)
    return changed, "Unassigned."


def _status(request: HttpRequest, conversation: Conversation) -> Outcome:
    status = request.POST.get("status") or ""
    changed = set_conversation_status(conversation=conversation, status=status, by=request.user)
    return changed, f"Marked {Conversation.Status(status).label.lower()}."


def _snooze(request: HttpRequest, conversation: Conversation) -> Outcome:
    until = snooze_until(request.POST)
    return snooze_conversation(conversation=conversation, until=until, by=request.user), "Snoozed."


def _close(request: HttpRequest, conversation: Conversation) -> Outcome:
    resolution = request.POST.get("resolution") or Conversation.Resolution.RESOLVED
    reason = (request.POST.get("reason") or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    changed = close_conversation(
        conversation=conversation, by=request.user, resolution=resolution, reason=reason
    )
    return changed, f"Closed as {changed.get_resolution_display().lower()}."


def _reopen(request: HttpRequest, conversation: Conversation) -> Outcome:
    return reopen_conversation(conversation=conversation, by=request.user), "Reopened."


def _priority(request: HttpRequest, conversation: Conversation) -> Outcome:
    priority = request.POST.get("priority") or ""
    changed = update_conversation(conversation=conversation, priority=priority, by=request.user)
    return changed, f"Priority set to {changed.get_priority_display().lower()}."


def _label(request: HttpRequest) -> str:
    label = (request.POST.get("label") or "").strip()
    if not label or len(label) > MAX_LABEL:
        raise ValidationFailed(f"Enter a label of 1 to {MAX_LABEL} characters.", field="label")
    return label


def _add_label(request: HttpRequest, conversation: Conversation) -> Outcome:
    label = _label(request)
    changed = update_conversation(
        conversation=conversation, tags=[*conversation.tags, label], by=request.user
    )
    return changed, f"Label “{label}” added."


def _remove_label(request: HttpRequest, conversation: Conversation) -> Outcome:
    label = _label(request)
    changed = update_conversation(
        conversation=conversation,
        tags=[t for t in conversation.tags if t != label],
        by=request.user,
    )
    return changed, f"Label “{label}” removed."


ACTIONS: dict[str, Callable[[HttpRequest, Conversation], Outcome]] = {
    "assign-me": _assign_me,
    "assign": _assign,
    "unassign": _unassign,
    "status": _status,
    "snooze": _snooze,
    "close": _close,
    "reopen": _reopen,
    "priority": _priority,
    "add-label": _add_label,
    "remove-label": _remove_label,
}


def _page_url(conversation: Conversation) -> str:
    return reverse("inbox:conversation", args=[conversation.public_id])


@require_POST
@inbox_view
def conversation_action_view(
    request: HttpRequest, conversation_id: str, action: str
) -> HttpResponse:
    """Run one action through its service; answer the header (htmx) or redirect back."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    conversation = conversation_or_404(request, conversation_id)
    try:
        _, notice = handler(request, conversation)
    except DomainError as exc:
        if is_htmx(request):
            return render_header(request, conversation, error=exc, status=ERROR_STATUS)
        return _page_with_error(request, conversation, exc)
    if is_htmx(request):
        # Re-read with everything the header shows (closer, assignee, ...).
        fresh = conversation_or_404(request, conversation.public_id)
        return render_header(request, fresh, notice=notice)
    flash.success(request, notice)
    return redirect(_page_url(conversation))


def _page_with_error(
    request: HttpRequest, conversation: Conversation, error: DomainError
) -> HttpResponse:
    """The whole page with the refusal in the header (a form posted without JavaScript)."""
    from inbox.ui.contact_sidebar import contact_panel_context
    from inbox.ui.conversation_view import pane_context, thread_page

    agents = list(agents_for(request.workspace))
    context = {
        "contact": conversation.contact,
        "thread": thread_page(conversation, agents),
        **header_context(request, conversation, agents, error=error),
        **contact_panel_context(request, conversation.contact, current=conversation),
        **pane_context(request, conversation),
    }
    return render_inbox(request, "inbox/conversation/page.html", context, status=ERROR_STATUS)


@require_POST
@inbox_view
def retry_message_view(request: HttpRequest, conversation_id: str, message_id: str) -> HttpResponse:
    """Queue a failed outbound message again (`retry_message`); answers its bubble."""
    conversation = conversation_or_404(request, conversation_id)
    message = message_or_404(conversation, message_id)
    error = ""
    try:
        if message.deleted_at is not None:
            raise ValidationFailed("A deleted message cannot be sent again.")
        retry_message(message=message)
    except DomainError as exc:
        error = exc.message
    if is_htmx(request):
        return render_inbox(
            request,
            "inbox/conversation/_message.html",
            {
                "conversation": conversation,
                "contact": conversation.contact,
                "message": message_or_404(conversation, message_id),
                "message_error": error,
            },
            status=ERROR_STATUS if error else 200,
        )
    if error:
        flash.error(request, error)
    else:
        flash.success(request, "Sending the message again.")
    return redirect(f"{_page_url(conversation)}#msg-{message.public_id}")
