"""`GET /inbox/events/`: the agent inbox's live updates as server-sent events.

The stream carries the signed-in agent's current workspace's outbox events
(`id:` the outbox id, `event:` the event type, `data:` the webhook-style
envelope) and a few control events:

- `ready` first, with the event types to listen for (EventSource has no
  wildcard listener);
- `unread` with `{"unreadConversations": N}` for the tab title (the agent's
  own and unassigned active conversations with unread messages, as
  `messaging.selectors.unread_conversation_count` counts them), on connect
  and whenever a message or conversation event changes it: one COUNT per
  batch in the stream, cheaper than every open page fetching an endpoint;
- `reset` when the missed events are too many to replay, or the session
  switched workspace: reload your data;
- `closed` when the session ended or the membership was removed (checked
  every `LIVE_UPDATES_REVALIDATE_SECONDS`): stop, and sign in again.

A reconnect sends `Last-Event-ID` and gets everything after it. The stream
ends itself after `LIVE_UPDATES_MAX_STREAM_SECONDS` and the browser
reconnects, so a long-lived thread is recycled without a gap.

Anonymous requests, and agents whose session names a workspace they are not
a member of, get 403 rather than a redirect: EventSource would follow a
redirect to the sign-in page and fail on its HTML.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from inbox.live import conf, sse
from inbox.live.feed import Batch, Idle, Reset, Wait, adrive, drive, outbox_feed
from inbox.models import Membership, User, Workspace
from inbox.ui.context import SESSION_WORKSPACE_KEY, memberships_of
from messaging.events import EVENT_TYPES
from messaging.selectors import unread_conversation_count

# Events after which the unread count may have changed.
UNREAD_PREFIXES = ("message.", "conversation.")


@dataclass(frozen=True)
class AgentSession:
    """What the stream needs to know, and re-check, about who is listening."""

    user: User
    workspace: Workspace
    session_class: type
    session_key: str | None
    auth_user: Any
    auth_hash: Any

    def unread(self) -> int:
        return unread_conversation_count(self.workspace, self.user)

    def revalidate(self) -> str | None:
        """None while the session and membership stand; else why the stream must end.

        Two queries: the session (signed out elsewhere, or switched
        workspace) and the membership with its user (removed, deactivated,
        or the password changed, which Django treats as signing out every
        other session).
        """
        if self.session_key:
            data = self.session_class(self.session_key).load()
            if data.get(SESSION_KEY) != self.auth_user or data.get(HASH_SESSION_KEY) != (
                self.auth_hash
            ):
                return "signed-out"
            current = data.get(SESSION_WORKSPACE_KEY)
            if current is not None and current != self.workspace.pk:
                return "workspace-changed"
        membership = (
            Membership.objects.select_related("user")
            .filter(user_id=self.user.pk, workspace_id=self.workspace.pk, user__is_active=True)
            .first()
        )
        if membership is None:
            return "no-membership"
        if self.auth_hash is not None and not _hash_matches(membership.user, self.auth_hash):
            return "signed-out"
        return None


def _hash_matches(user: User, session_hash: str) -> bool:
    """Django's own session check: the hash of the current password (or a fallback key's)."""
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return True
    return any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )


def resolve_agent(request: HttpRequest) -> AgentSession | None:
    """The signed-in agent and their current workspace, as `inbox.ui.context` resolves it.

    Read-only: unlike `@inbox_view` it never writes the session (an agent with
    a single membership and no workspace in the session gets that one).
    """
    if not request.user.is_authenticated:
        return None
    memberships = memberships_of(request.user)
    wanted = request.session.get(SESSION_WORKSPACE_KEY)
    current = next((m for m in memberships if m.workspace_id == wanted), None)
    if current is None and wanted is None and len(memberships) == 1:
        current = memberships[0]
    if current is None:
        return None
    return AgentSession(
        user=request.user,
        workspace=current.workspace,
        session_class=type(request.session),
        session_key=request.session.session_key,
        auth_user=request.session.get(SESSION_KEY),
        auth_hash=request.session.get(HASH_SESSION_KEY),
    )


def agent_stream(
    agent: AgentSession, after_id: int | None
) -> Generator[bytes | Wait, bool | None, None]:
    """The SSE byte stream of one agent's page (with `Wait`s for the driver)."""
    clock = time.monotonic
    started = checked = clock()
    revalidate_every = float(conf.get("LIVE_UPDATES_REVALIDATE_SECONDS"))
    max_seconds = float(conf.get("LIVE_UPDATES_MAX_STREAM_SECONDS"))
    # Fix the starting point before anything is sent: an event committed
    # while the first chunks travel is then replayed, not skipped.
    feed = outbox_feed(agent.workspace.pk, after_id)
    yield sse.retry(conf.get("LIVE_UPDATES_RETRY_MS")) + sse.message(
        "ready", {"workspaceId": agent.workspace.public_id, "types": list(EVENT_TYPES)}
    )
    unread = agent.unread()
    yield sse.message("unread", {"unreadConversations": unread})
    woke: bool | None = None
    try:
        while True:
            now = clock()
            if now - started >= max_seconds:
                return
            if now - checked >= revalidate_every:
                checked = now
                verdict = agent.revalidate()
                if verdict == "workspace-changed":
                    # The next connection follows the new workspace.
                    yield sse.message("reset", {"reason": verdict})
                    return
                if verdict is not None:
                    yield sse.message("closed", {"reason": verdict})
                    return
            item = feed.send(woke)
            woke = None
            if isinstance(item, Wait):
                woke = yield item
                continue
            if isinstance(item, Idle):
                yield sse.comment("heartbeat")
                continue
            if isinstance(item, Reset):
                chunk = sse.message("reset", {"reason": item.reason}, id=item.id)
                counts = True
            else:
                assert isinstance(item, Batch)
                chunk = b"".join(sse.event_message(event) for event in item.events)
                counts = any(event.type.startswith(UNREAD_PREFIXES) for event in item.events)
            if counts:
                fresh = agent.unread()
                if fresh != unread:
                    unread = fresh
                    chunk += sse.message("unread", {"unreadConversations": unread})
            yield chunk
    finally:
        feed.close()


def _forbidden() -> HttpResponse:
    return JsonResponse(
        {"error": {"code": "FORBIDDEN", "message": "Sign in to the inbox first.", "details": []}},
        status=403,
    )


@never_cache
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    agent = resolve_agent(request)
    if agent is None:
        return _forbidden()
    stream = agent_stream(agent, sse.requested_cursor(request))
    content = adrive(stream) if isinstance(request, ASGIRequest) else drive(stream)
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    # Proxies must pass each event on at once (nginx buffers unless told).
    response["X-Accel-Buffering"] = "no"
    return response
