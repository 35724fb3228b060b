"""Helpers for the conversation page tests: sign in, make messages, read the HTML back."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

from django.test import Client
from django.utils import timezone

from inbox.models import User, Workspace
from inbox.ui.context import SESSION_WORKSPACE_KEY
from messaging.models import Conversation, Message
from messaging.services import receive_message, send_message

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '<img src=x onerror="alert(2)">'
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"

_seq = iter(range(10_000_000))


def sign_in(client: Client, user: User, workspace: Workspace) -> Client:
    """Signed in with the workspace chosen, as after the sign-in form."""
    client.force_login(user)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    return client


def inbound(
    conversation_or_channel,
    content: dict | str = "Hello",
    *,
    sender: str | None = None,
    name: str = "",
    at: datetime | None = None,
    metadata: dict | None = None,
) -> Message:
    """An inbound message on the conversation's channel from its contact (or a new sender)."""
    if isinstance(conversation_or_channel, Conversation):
        channel = conversation_or_channel.channel
        sender = sender or conversation_or_channel.contact.phone
    else:
        channel = conversation_or_channel
    n = next(_seq)
    body = {"type": "text", "text": content} if isinstance(content, str) else content
    return receive_message(
        channel=channel,
        sender=sender or f"+55119{n:08d}",
        content=body,
        provider_message_id=f"wamid.ui.{n}",
        sender_name=name,
        received_at=at,
        metadata=metadata,
    ).message


def reply(
    conversation: Conversation, text: str = "On it", *, by: User | None = None, **kwargs
) -> Message:
    return send_message(
        workspace=conversation.workspace,
        conversation=conversation,
        content={"type": "text", "text": text},
        sender_user=by,
        **kwargs,
    )


def minutes_ago(n: float) -> datetime:
    return timezone.now() - timedelta(minutes=n)


def page(client: Client, conversation: Conversation, query: str = "") -> str:
    response = client.get(f"/inbox/c/{conversation.public_id}/{query}")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def htmx_get(client: Client, url: str):
    return client.get(url, headers={"HX-Request": "true"})


def htmx_post(client: Client, url: str, data: dict | None = None):
    return client.post(url, data or {}, headers={"HX-Request": "true"})


def bubble(html: str, message: Message) -> str:
    """The `<li>` of one message in a page or fragment."""
    start = html.index(f'<li id="msg-{message.public_id}"')
    end = html.index("</li>\n", html.index("</article>", start))
    return html[start:end]


def message_ids(html: str) -> list[str]:
    return re.findall(r'<li id="msg-([^"]+)"', html)


def event_kinds(html: str) -> list[str]:
    return re.findall(r'<li class="sys-event sys-([a-z]+)"', html)


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token field"
    return match.group(1)


class ControlLabels(HTMLParser):
    """Collects form controls and what labels them (for the accessibility checks)."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.open_labels = 0
        self.buttons: list[dict] = []
        self._button: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and a.get("type") in ("hidden", "submit", "button"):
                return
            if "hidden" in a:  # not rendered, not in the accessibility tree
                return
            self.controls.append({**a, "_tag": tag, "_wrapped": "1" if self.open_labels else ""})
        elif tag == "button":
            self._button = {**a, "_text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1
        elif tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["_text"] += data

    def unlabelled(self) -> list[dict]:
        return [
            c
            for c in self.controls
            if not c["_wrapped"]
            and not c.get("aria-label")
            and not c.get("aria-labelledby")
            and (c.get("id") or "") not in self.label_for
        ]

    def nameless_buttons(self) -> list[dict]:
        return [b for b in self.buttons if not b["_text"].strip() and not b.get("aria-label")]
