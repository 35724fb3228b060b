"""The conversation page (`/inbox/c/<id>/`) and the fragments that keep it current.

The page is the list layout with the conversation in it: the agent's
conversation list on the left (`sidebar` block), the header with the actions
and the thread in `main`, the contact in the `aside`. Fragments:

* `messages/?before=<cursor>`: the page of older messages the sentinel at
  the top of the thread loads on scroll (it replaces itself with them);
* `messages/?after=<cursor>`: everything after the newest message shown,
  for catching up after the live connection dropped;
* `messages/<msg id>/`: one bubble, fetched when a live event names it;
* `header/`: the header and actions, re-fetched on `conversation.*` events;
* `list/`: the rows of the left-hand list, re-fetched on live events;
* `read/` (POST): mark the conversation read while the page is in view.

Reads go through `messaging.selectors` (the thread is a keyset page on
(created_at, id), the cursor format of the Messages API); reading marks
through `bulk_mark_read`, the service behind `POST /messages/bulk-read`.
Every id is looked up inside the agent's workspace, so another tenant's
conversation or message is the same 404 as a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from inbox.api.pagination import decode_cursor, encode_cursor
from inbox.errors import DomainError, NotFound
from inbox.models import User
from inbox.ui.context import inbox_view, is_htmx, render_inbox
from inbox.ui.conversations_list import PAGE_SIZE as LIST_PAGE_SIZE
from inbox.ui.conversations_list import SORT_LABELS, TAB_LABELS, ListParams
from messaging.models import Conversation, Message, OutboxEvent
from messaging.selectors import (
    agents_for,
    conversation_timeline_events,
    encode_inbox_cursor,
    get_conversation_for,
    get_thread_message_for,
    inbox_conversations,
    inbox_page,
    inbox_tab,
    inbox_thread_page,
)
from messaging.services import bulk_mark_read

# Messages per thread page; older ones load on scroll.
THREAD_PAGE_SIZE = 30
MAX_CURSOR = 200
FORMER_AGENT = "a former agent"


# --- Lookups ---------------------------------------------------------------------------


def conversation_or_404(request: HttpRequest, public_id: str) -> Conversation:
    """The conversation in the agent's current workspace, else 404 (foreign or missing)."""
    try:
        return get_conversation_for(request.workspace, public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


def message_or_404(conversation: Conversation, public_id: str) -> Message:
    try:
        return get_thread_message_for(conversation, public_id)
    except NotFound as exc:
        raise Http404(exc.message) from None


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    """A thread cursor from the query string; None when absent or not one of ours."""
    value = (value or "").strip()
    if not value or len(value) > MAX_CURSOR:
        return None
    try:
        return decode_cursor(value)
    except DomainError:
        return None


# --- The timeline: messages with the conversation's system events -------------------------


@dataclass(frozen=True)
class SystemEvent:
    """A lifecycle event shown in the thread ("Assigned to Ana by Bruno").

    Names are plain strings; the template escapes them like any other value.
    """

    id: str
    kind: str  # created, assigned, unassigned, transferred, closed, reopened, snoozed, ...
    at: datetime
    actor: str = ""  # who did it; empty when the system did (a timer, an inbound message)
    target: str = ""  # who it was assigned or transferred to
    source: str = ""  # who it was transferred from
    detail: str = ""  # resolution, new status or transfer reason
    until: datetime | None = None  # end of a snooze

    @property
    def by(self) -> str:
        """Who to credit ("by Ana"); nobody for an agent who took the conversation themselves."""
        if self.kind == "assigned" and self.actor == self.target:
            return ""
        return self.actor


@dataclass(frozen=True)
class ThreadItem:
    message: Message | None = None
    event: SystemEvent | None = None

    @property
    def at(self) -> datetime:
        return self.message.created_at if self.message else self.event.at  # type: ignore[union-attr]


def _system_event(row: OutboxEvent, name_of: Any) -> SystemEvent | None:
    data = row.data or {}
    attributes = data.get("attributes") or {}
    meta = data.get("meta") or {}
    base = {"id": row.public_id, "at": row.created_at, "actor": name_of(meta.get("by"))}
    if row.event == "conversation.created":
        return SystemEvent(kind="created", **base)
    if row.event == "conversation.assigned":
        assignee = attributes.get("assigneeId")
        if not assignee:
            return SystemEvent(kind="unassigned", **base)
        return SystemEvent(kind="assigned", target=name_of(assignee), **base)
    if row.event == "conversation.transferred":
        return SystemEvent(
            kind="transferred",
            target=name_of(meta.get("toAssigneeId")),
            source=name_of(meta.get("fromAssigneeId")),
            detail=str(meta.get("reason") or ""),
            **base,
        )
    if row.event == "conversation.closed":
        resolution = attributes.get("resolution") or ""
        label = (
            Conversation.Resolution(resolution).label
            if resolution in Conversation.Resolution.values
            else ""
        )
        return SystemEvent(kind="closed", detail=str(label), **base)
    if row.event == "conversation.reopened":
        return SystemEvent(kind="reopened", **base)
    change = meta.get("change")
    if change == "snoozed":
        until = attributes.get("snoozedUntil")
        return SystemEvent(
            kind="snoozed", until=parse_datetime(until) if isinstance(until, str) else None, **base
        )
    if change == "unsnoozed":
        return SystemEvent(kind="unsnoozed", **base)
    if change == "status":
        status = attributes.get("status") or ""
        label = Conversation.Status(status).label if status in Conversation.Status.values else ""
        return SystemEvent(kind="status", detail=str(label), **base)
    return None


def system_events(rows: list[OutboxEvent], agents: list[User]) -> list[SystemEvent]:
    """Outbox rows as timeline entries, with agent names from the workspace's agents.

    A transfer records `conversation.assigned` then `conversation.transferred`;
    only the transfer is shown, since it says more.
    """
    names = {agent.public_id: agent.name for agent in agents}

    def name_of(public_id: Any) -> str:
        if not public_id:
            return ""
        return names.get(public_id, FORMER_AGENT)

    shown: list[SystemEvent] = []
    for i, row in enumerate(rows):
        following = rows[i + 1] if i + 1 < len(rows) else None
        if (
            row.event == "conversation.assigned"
            and following is not None
            and following.event == "conversation.transferred"
            and (following.data.get("meta") or {}).get("toAssigneeId")
            == (row.data.get("attributes") or {}).get("assigneeId")
        ):
            continue
        event = _system_event(row, name_of)
        if event is not None:
            shown.append(event)
    return shown


def merge_timeline(messages: list[Message], events: list[SystemEvent]) -> list[ThreadItem]:
    """Messages and system events in the order they happened.

    An event recorded in the same instant as a message (same transaction)
    follows it.
    """
    items = [ThreadItem(message=m) for m in messages] + [ThreadItem(event=e) for e in events]
    return sorted(items, key=lambda item: (item.at, 0 if item.message else 1))


@dataclass(frozen=True)
class ThreadPage:
    items: list[ThreadItem]
    has_older: bool
    older_cursor: str


def thread_page(
    conversation: Conversation,
    agents: list[User],
    *,
    before: tuple[datetime, int] | None = None,
) -> ThreadPage:
    """The newest page of the thread (or the one before `before`), with its system events.

    Events fall in the page whose time window holds them: from the page's
    oldest message (open-ended for the first page of the thread) up to the
    cursor it was loaded before (open-ended for the newest page). Four
    queries: messages, attachments, reactions, events.
    """
    rows, has_older = inbox_thread_page(conversation, limit=THREAD_PAGE_SIZE, before=before)
    since = rows[0].created_at if rows and has_older else None
    until = before[0] if before else None
    events = conversation_timeline_events(conversation, since=since, until=until)
    return ThreadPage(
        items=merge_timeline(rows, system_events(events, agents)),
        has_older=has_older,
        older_cursor=encode_cursor(rows[0].created_at, rows[0].pk) if rows and has_older else "",
    )


# --- The left-hand list ------------------------------------------------------------------


# The list beside a conversation shows every agent's by default, so the
# conversation being read is in it whoever it is assigned to.
PANE_DEFAULT_TAB = "all"


def pane_params(request: HttpRequest) -> ListParams:
    """The list's view from the query string (the list page's filters carried along)."""
    query = request.GET.copy()
    if not query.get("tab"):
        query["tab"] = PANE_DEFAULT_TAB
    return ListParams.from_query(query)


def pane_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    """One page of the list the agent came from (its filters ride in the query string).

    One query: the keyset page of rows, joined like the list page's.
    """
    params = pane_params(request)
    rows, next_key = inbox_page(
        inbox_tab(inbox_conversations(request.workspace, params.filters), params.tab, request.user),
        sort=params.filters.sort,
        after=None,
        limit=LIST_PAGE_SIZE,
    )
    status = params.filters.status
    return {
        "params": params,
        "conversations": rows,
        "current_conversation_id": conversation.public_id,
        "next_url": (
            params.url(cursor=encode_inbox_cursor(params.filters.sort, next_key))
            if next_key
            else ""
        ),
        "paged": False,
        "list_url": params.url(),
        "list_query": params.query(),
        "pane_title": TAB_LABELS[params.tab],
        "pane_status": Conversation.Status(status).label if status else "Any status",
        "pane_sort": SORT_LABELS[params.filters.sort],
        "pane_url": _with_query(
            reverse("inbox:conversation-list-pane", args=[conversation.public_id]),
            params.query(),
        ),
    }


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


# --- Views -------------------------------------------------------------------------------


def mark_conversation_read(request: HttpRequest, conversation: Conversation) -> Conversation:
    """Mark the conversation's unread inbound messages read; idempotent and free when none.

    The conversation row's own counter says whether there is anything to do,
    so opening an already-read conversation writes nothing and records no
    event. Answers the conversation as it is afterwards.
    """
    if not conversation.unread_count:
        return conversation
    if bulk_mark_read(workspace=request.workspace, conversation=conversation):
        return conversation_or_404(request, conversation.public_id)
    return conversation


@require_GET
@inbox_view
def conversation_page_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """The conversation page; opening it marks the conversation read.

    `?before=<cursor>` shows an older page of the thread (the "Older
    messages" link, for browsers without JavaScript).
    """
    from inbox.ui.contact_sidebar import contact_panel_context
    from inbox.ui.conversation_actions import header_context

    conversation = conversation_or_404(request, conversation_id)
    conversation = mark_conversation_read(request, conversation)
    agents = list(agents_for(request.workspace))
    before = _cursor(request.GET.get("before"))
    page = thread_page(conversation, agents, before=before)
    context: dict[str, Any] = {
        "conversation": conversation,
        "contact": conversation.contact,
        "thread": page,
        "paged_back": before is not None,
        **header_context(request, conversation, agents),
        **contact_panel_context(request, conversation.contact, current=conversation),
        **pane_context(request, conversation),
    }
    if not is_htmx(request):
        # Result of an action submitted without JavaScript (post/redirect/get).
        context["notices"] = [str(m) for m in flash.get_messages(request)]
    return render_inbox(request, "inbox/conversation/page.html", context)


@require_GET
@inbox_view
def thread_messages_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Thread fragments: the page `before` a cursor (older), or everything `after` one.

    `after` answers up to a page of messages and the system events from the
    cursor's time on; `X-Thread-Has-More: true` says to ask again from the
    last one. The page includes what it already shows, keyed by element id,
    so repeats are harmless.
    """
    conversation = conversation_or_404(request, conversation_id)
    agents = list(agents_for(request.workspace))
    context: dict[str, Any] = {"conversation": conversation, "contact": conversation.contact}
    raw_after = request.GET.get("after")
    if raw_after is not None:
        after = _cursor(raw_after)
        if raw_after.strip() and after is None:
            return HttpResponse("The cursor is not valid.", status=400, content_type="text/plain")
        if after is None:
            page = thread_page(conversation, agents)
            items, has_more = page.items, False
        else:
            rows, has_more = inbox_thread_page(conversation, limit=THREAD_PAGE_SIZE, after=after)
            # With more to come, later events wait for the page that reaches them.
            until = rows[-1].created_at if rows and has_more else None
            events = conversation_timeline_events(conversation, since=after[0], until=until)
            items = merge_timeline(rows, system_events(events, agents))
        context["items"] = items
        response = render_inbox(request, "inbox/conversation/_thread_items.html", context)
        response["X-Thread-Has-More"] = "true" if has_more else "false"
        if items and any(i.message for i in items):
            newest = [i.message for i in items if i.message][-1]
            response["X-Thread-Cursor"] = encode_cursor(newest.created_at, newest.pk)
        return response
    before = _cursor(request.GET.get("before"))
    if before is None:
        return HttpResponse("The cursor is not valid.", status=400, content_type="text/plain")
    page = thread_page(conversation, agents, before=before)
    context.update(items=page.items, thread=page, with_sentinel=True)
    return render_inbox(request, "inbox/conversation/_thread_items.html", context)


@require_GET
@inbox_view
def message_view(request: HttpRequest, conversation_id: str, message_id: str) -> HttpResponse:
    """One message bubble (`<li id="msg-...">`), for live updates to append or replace."""
    conversation = conversation_or_404(request, conversation_id)
    message = message_or_404(conversation, message_id)
    return render_inbox(
        request,
        "inbox/conversation/_message.html",
        {"conversation": conversation, "contact": conversation.contact, "message": message},
    )


@require_POST
@inbox_view
def mark_read_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Mark the conversation read (a new inbound message arrived while the page was in view)."""
    conversation = conversation_or_404(request, conversation_id)
    mark_conversation_read(request, conversation)
    if is_htmx(request) or request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect(reverse("inbox:conversation", args=[conversation.public_id]))


@require_GET
@inbox_view
def header_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """The header with the actions (re-fetched by live updates)."""
    from inbox.ui.conversation_actions import render_header

    conversation = conversation_or_404(request, conversation_id)
    return render_header(request, conversation)


@require_GET
@inbox_view
def list_pane_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """The rows of the left-hand list (re-fetched by live updates)."""
    conversation = conversation_or_404(request, conversation_id)
    return render_inbox(
        request, "inbox/conversations/_rows.html", pane_context(request, conversation)
    )
