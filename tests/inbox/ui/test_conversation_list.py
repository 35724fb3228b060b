"""The conversation list at /inbox/: tabs and counts, filters, sorts, search,
keyset pages, htmx fragments, bulk actions, isolation, escaping, query counts.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from inbox.models import Membership
from inbox.services import create_agent
from inbox.ui.context import SESSION_WORKSPACE_KEY
from messaging.models import Conversation
from messaging.selectors import InboxFilters
from messaging.services import (
    assign_conversation,
    close_conversation,
    receive_message,
    send_message,
    snooze_conversation,
    update_contact,
    update_conversation,
)
from messaging.services.conversations import set_conversation_status

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture
def signed_in(client: Client, agent, workspace) -> Client:
    """Signed in with the workspace chosen, as after the sign-in form."""
    client.force_login(agent)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    return client


_seq = iter(range(10_000_000))


def converse(
    channel,
    name: str,
    text: str = "Hello",
    *,
    minutes_ago: float = 0,
    phone: str | None = None,
    at: datetime | None = None,
) -> Conversation:
    """A conversation opened by an inbound message `minutes_ago` (or exactly `at`)."""
    n = next(_seq)
    received = receive_message(
        channel=channel,
        sender=phone or f"+55119{n:08d}",
        content={"type": "text", "text": text},
        provider_message_id=f"wamid.{n}",
        sender_name=name,
        received_at=at or timezone.now() - timedelta(minutes=minutes_ago),
    )
    return received.message.conversation


def row_ids(response) -> list[str]:
    return re.findall(r'data-conversation-id="([^"]+)"', response.content.decode())


def tab_count(response, tab: str) -> int:
    match = re.search(rf'data-count="{tab}">(\d+)<', response.content.decode())
    assert match, f"no count for tab {tab}"
    return int(match.group(1))


def htmx(client: Client, url: str):
    return client.get(url, headers={"HX-Request": "true"})


# --- Rows -----------------------------------------------------------------------------


def test_row_shows_contact_channel_preview_time_unread_and_assignee(signed_in, channel, agent):
    conversation = converse(channel, "Ana Souza", "Where is my order?", minutes_ago=5)
    assign_conversation(conversation=conversation, assignee=agent, by=agent)
    update_conversation(conversation=conversation, priority="urgent", tags=["vip"])
    html = signed_in.get("/inbox/").content.decode()
    row = html[html.index(f'id="conv-{conversation.public_id}"') :]
    row = row[: row.index("</li>")]
    assert f'data-conversation-id="{conversation.public_id}"' in row
    assert f'href="/inbox/c/{conversation.public_id}/"' in row
    assert "Ana Souza" in row
    assert 'href="#icon-ch-whatsapp"' in row and "WhatsApp:" in row  # icon + text alternative
    assert "Where is my order?" in row
    assert re.search(r'<time class="conv-time" datetime="[^"]+Z" data-ago>5 min</time>', row)
    assert ", 1 unread" in row and 'class="badge"' in row
    assert ">AA<" in row or ">A<" in row  # the agent's initials avatar
    assert "assigned to" in row
    assert "Urgent" in row and '<span class="tag">vip</span>' in row
    assert 'aria-label="Select conversation with Ana Souza"' in row
    assert 'form="bulk-form"' in row


def test_outbound_and_note_previews_are_marked(signed_in, channel, agent, workspace):
    reply = converse(channel, "Replied")
    send_message(
        workspace=workspace,
        conversation=reply,
        content={"type": "text", "text": "On its way"},
        sender_user=agent,
    )
    noted = converse(channel, "Noted")
    send_message(
        workspace=workspace,
        conversation=noted,
        content={"type": "text", "text": "check stock"},
        sender_user=agent,
        is_private=True,
    )
    html = signed_in.get("/inbox/?tab=all").content.decode()
    assert '<span class="preview-you">You:</span> On its way' in html
    assert '<span class="preview-note">Note:</span> check stock' in html


def test_title_carries_the_unread_count(signed_in, channel, agent, admin_user):
    converse(channel, "Unassigned unread")
    mine = converse(channel, "Mine unread")
    assign_conversation(conversation=mine, assignee=agent)
    theirs = converse(channel, "Someone else's")
    assign_conversation(conversation=theirs, assignee=admin_user)
    html = signed_in.get("/inbox/").content.decode()
    # Mine and unassigned count; another agent's conversation does not.
    assert "<title>(2) Inbox · Acme Support</title>" in html
    assert 'data-unread-count="2"' in html


def test_layout_has_landmarks_and_the_live_hook(signed_in, channel):
    html = signed_in.get("/inbox/").content.decode()
    for landmark in ("<header", "<nav", "<main", 'role="search"'):
        assert landmark in html
    assert 'class="skip-link" href="#main"' in html
    assert 'data-events-url="/inbox/events/"' in html
    assert "/static/inbox/live.js" in html and "/static/vendor/htmx.min.js" in html
    assert "/static/inbox/inbox.js" in html
    # Every form control of the page has a label.
    ids = set(re.findall(r'<(?:input|select)[^>]*\sid="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    for control in ids - {"tab-input", "bulk-filters"}:
        assert control in labelled, f"#{control} has no label"


# --- Tabs and counts ------------------------------------------------------------------


@pytest.fixture
def spread(channel, agent, admin_user):
    """2 mine, 1 the admin's, 3 unassigned; plus closed ones that the default hides."""
    rows = {}
    for name in ("Mine A", "Mine B"):
        rows[name] = converse(channel, name)
        assign_conversation(conversation=rows[name], assignee=agent)
    rows["Admin's"] = converse(channel, "Admin's")
    assign_conversation(conversation=rows["Admin's"], assignee=admin_user)
    for name in ("Free A", "Free B", "Free C"):
        rows[name] = converse(channel, name)
    rows["Closed mine"] = converse(channel, "Closed mine")
    assign_conversation(conversation=rows["Closed mine"], assignee=agent)
    close_conversation(conversation=rows["Closed mine"])
    return rows


def test_tab_counts(signed_in, spread):
    response = signed_in.get("/inbox/")
    assert (tab_count(response, "mine"), tab_count(response, "unassigned")) == (2, 3)
    assert tab_count(response, "all") == 6


def test_tabs_list_their_conversations(signed_in, spread):
    def names(tab: str) -> set[str]:
        ids = row_ids(signed_in.get(f"/inbox/?tab={tab}"))
        return {name for name, c in spread.items() if c.public_id in ids}

    assert names("mine") == {"Mine A", "Mine B"}
    assert names("unassigned") == {"Free A", "Free B", "Free C"}
    assert names("all") == {"Mine A", "Mine B", "Admin's", "Free A", "Free B", "Free C"}
    # Mine is the default tab, marked current.
    response = signed_in.get("/inbox/")
    assert set(row_ids(response)) == {spread["Mine A"].public_id, spread["Mine B"].public_id}
    assert re.search(r'id="tab-mine"[^>]*aria-current="page"', response.content.decode())


def test_counts_follow_the_filters(signed_in, spread):
    response = signed_in.get("/inbox/?status=closed")
    assert (tab_count(response, "mine"), tab_count(response, "unassigned")) == (1, 0)
    assert tab_count(response, "all") == 1


def test_tab_links_keep_the_filters(signed_in, spread):
    html = signed_in.get("/inbox/?status=closed&q=Mine&sort=created").content.decode()
    link = re.search(r'<a id="tab-unassigned" href="([^"]+)"', html)
    assert link
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert query == {
        "tab": ["unassigned"],
        "status": ["closed"],
        "q": ["Mine"],
        "sort": ["created"],
    }


# --- Filters --------------------------------------------------------------------------


def test_status_filter(signed_in, channel):
    open_ = converse(channel, "Open one")
    pending = converse(channel, "Pending one")
    set_conversation_status(conversation=pending, status="pending")
    snoozed = converse(channel, "Snoozed one")
    snooze_conversation(conversation=snoozed, until=timezone.now() + timedelta(hours=2))
    closed = converse(channel, "Closed one")
    close_conversation(conversation=closed)
    expected = {
        "": {open_},
        "status=open": {open_},
        "status=pending": {pending},
        "status=snoozed": {snoozed},
        "status=closed": {closed},
        "status=all": {open_, pending, snoozed, closed},
        # Unknown values (an old bookmark) fall back to the default.
        "status=bogus": {open_},
    }
    for query, conversations in expected.items():
        ids = row_ids(signed_in.get(f"/inbox/?tab=all&{query}"))
        assert set(ids) == {c.public_id for c in conversations}, query


def test_channel_filter(signed_in, channel, make_channel, workspace):
    sms = make_channel(workspace, type="sms", name="SMS line")
    on_whatsapp = converse(channel, "On WhatsApp")
    on_sms = converse(sms, "On SMS")
    assert row_ids(signed_in.get(f"/inbox/?tab=all&channel={sms.public_id}")) == [on_sms.public_id]
    assert row_ids(signed_in.get(f"/inbox/?tab=all&channel={channel.public_id}")) == [
        on_whatsapp.public_id
    ]
    html = signed_in.get("/inbox/?tab=all&status=closed").content.decode()
    assert f'<option value="{sms.public_id}"' in html  # offered in the filter
    # and as a sidebar link that keeps the rest of the view
    assert f'href="/inbox/?tab=all&amp;status=closed&amp;channel={sms.public_id}"' in html


def test_label_filter(signed_in, channel):
    vip = converse(channel, "Tagged")
    update_conversation(conversation=vip, tags=["vip", "billing"])
    other = converse(channel, "Other tag")
    update_conversation(conversation=other, tags=["vipx"])
    converse(channel, "Untagged")
    assert row_ids(signed_in.get("/inbox/?tab=all&label=vip")) == [vip.public_id]
    assert row_ids(signed_in.get("/inbox/?tab=all&label=billing")) == [vip.public_id]
    assert row_ids(signed_in.get("/inbox/?tab=all&label=nothing")) == []


def test_priority_filter(signed_in, channel):
    urgent = converse(channel, "Urgent")
    update_conversation(conversation=urgent, priority="urgent")
    converse(channel, "Normal")
    assert row_ids(signed_in.get("/inbox/?tab=all&priority=urgent")) == [urgent.public_id]
    assert len(row_ids(signed_in.get("/inbox/?tab=all&priority=nonsense"))) == 2


# --- Sorts ----------------------------------------------------------------------------


@pytest.fixture
def timeline(channel, agent, workspace):
    """Four conversations created in order, with activity in another order."""
    created = {}
    for i, name in enumerate(("First", "Second", "Third", "Fourth")):
        created[name] = converse(channel, name, minutes_ago=100 - i * 10)
    # Activity: Third newest (our reply), then Second (a new inbound), Fourth, First.
    receive_message(
        channel=channel,
        sender=created["Second"].contact.phone,
        content={"type": "text", "text": "again"},
        provider_message_id="wamid.again",
    )
    send_message(
        workspace=workspace,
        conversation=created["Third"],
        content={"type": "text", "text": "We replied"},
        sender_user=agent,
    )
    update_conversation(conversation=created["First"], priority="high")
    update_conversation(conversation=created["Fourth"], priority="urgent")
    return created


def names_in_order(response, conversations) -> list[str]:
    by_id = {c.public_id: name for name, c in conversations.items()}
    return [by_id[i] for i in row_ids(response)]


def test_sort_by_last_activity_is_the_default(signed_in, timeline):
    order = names_in_order(signed_in.get("/inbox/?tab=all"), timeline)
    assert order == ["Third", "Second", "Fourth", "First"]


def test_sort_oldest_waiting_lists_unanswered_conversations_oldest_first(signed_in, timeline):
    order = names_in_order(signed_in.get("/inbox/?tab=all&sort=waiting"), timeline)
    # Third's last message is ours: it is not waiting.
    assert order == ["First", "Fourth", "Second"]


def test_sort_by_created(signed_in, timeline):
    order = names_in_order(signed_in.get("/inbox/?tab=all&sort=created"), timeline)
    assert order == ["Fourth", "Third", "Second", "First"]


def test_sort_by_priority_then_activity(signed_in, timeline):
    order = names_in_order(signed_in.get("/inbox/?tab=all&sort=priority"), timeline)
    assert order == ["Fourth", "First", "Third", "Second"]


# --- Search ---------------------------------------------------------------------------


def test_search_by_name_phone_email_and_message_text(signed_in, channel, workspace):
    ana = converse(channel, "Ana Souza", "my parcel never arrived", phone="+5511988887777")
    bob = converse(channel, "Bob Stone", "invoice question")
    update_contact(contact=bob.contact, email="bob@stone.test")
    converse(channel, "Carla Dias", "nothing to see")
    cases = {
        "souza": ana,  # name, any case
        "88887777": ana,  # part of the phone
        "stone.test": bob,  # email
        "parcel": ana,  # message text
        "invoice": bob,
    }
    for q, expected in cases.items():
        assert row_ids(signed_in.get(f"/inbox/?tab=all&q={q}")) == [expected.public_id], q
    assert row_ids(signed_in.get("/inbox/?tab=all&q=zzz-no-match")) == []
    html = signed_in.get("/inbox/?tab=all&q=parcel").content.decode()
    assert 'value="parcel"' in html  # the search box keeps the query


def test_search_and_counts_agree(signed_in, channel, agent):
    mine = converse(channel, "Searchable Mine")
    assign_conversation(conversation=mine, assignee=agent)
    converse(channel, "Searchable Free")
    converse(channel, "Hidden")
    response = signed_in.get("/inbox/?q=Searchable")
    assert (tab_count(response, "mine"), tab_count(response, "unassigned")) == (1, 1)
    assert tab_count(response, "all") == 2


# --- Pagination -----------------------------------------------------------------------


def load_more_url(response) -> str | None:
    match = re.search(r'class="load-more">\s*<a[^>]*href="([^"]+)"', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.mark.parametrize("sort", ["activity", "waiting", "created", "priority"])
def test_keyset_pages_cover_every_conversation_once(signed_in, channel, sort):
    conversations = [converse(channel, f"C{i}", minutes_ago=i % 7) for i in range(30)]
    for c in conversations[::4]:
        update_conversation(conversation=c, priority="high")
    first = signed_in.get(f"/inbox/?tab=all&sort={sort}")
    page1 = row_ids(first)
    assert len(page1) == 25
    url = load_more_url(first)
    assert url and "cursor=" in url and "tab=all" in url
    assert (f"sort={sort}" in url) == (sort != "activity")  # the default stays out of URLs
    more = htmx(signed_in, url)
    assert b"<html" not in more.content and b'class="tabs"' not in more.content
    page2 = row_ids(more)
    assert len(page2) == 5 and load_more_url(more) is None
    assert sorted(page1 + page2) == sorted(c.public_id for c in conversations)
    # Without JavaScript the same link is a full page of the next rows.
    full = signed_in.get(url)
    assert row_ids(full) == page2 and b"Back to the newest" in full.content


@pytest.mark.parametrize("sort", ["activity", "created", "priority"])
def test_keyset_pages_survive_ties_and_conversations_without_messages(
    signed_in, channel, workspace, sort
):
    from messaging.services.conversations import create_conversation

    same = timezone.now() - timedelta(minutes=3)
    expected = [converse(channel, f"Tie {i}", at=same).public_id for i in range(27)]
    # Started by an agent, no message yet: `last_message_at` is NULL.
    for i in range(3):
        started = create_conversation(
            workspace=workspace, channel=channel, contact_phone=f"+5521977770{i:03d}"
        )
        expected.append(started.public_id)
    Conversation.objects.filter(public_id__in=expected).update(created_at=same)
    seen: list[str] = []
    url: str | None = f"/inbox/?tab=all&sort={sort}"
    pages = 0
    while url:
        response = htmx(signed_in, url) if pages else signed_in.get(url)
        seen += row_ids(response)
        url = load_more_url(response)
        pages += 1
    assert pages == 2
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


@pytest.mark.parametrize("sort", ["activity", "waiting", "created", "priority"])
def test_keyset_selector_in_small_pages_crosses_nulls_and_ties(channel, workspace, sort):
    """Pages of 2 put page boundaries on NULL keys and inside ties."""
    from messaging.selectors import (
        decode_inbox_cursor,
        encode_inbox_cursor,
        inbox_conversations,
        inbox_page,
    )
    from messaging.services.conversations import create_conversation

    same = timezone.now() - timedelta(minutes=3)
    expected = [converse(channel, f"Tie {i}", at=same) for i in range(3)]
    expected.append(converse(channel, "Older", minutes_ago=30))
    for i in range(3):
        expected.append(
            create_conversation(
                workspace=workspace, channel=channel, contact_phone=f"+5521977770{i:03d}"
            )
        )
    update_conversation(conversation=expected[1], priority="urgent")
    update_conversation(conversation=expected[5], priority="urgent")
    if sort == "waiting":  # only conversations whose last message is inbound
        expected = expected[:4]
    queryset = inbox_conversations(workspace, InboxFilters(status=None, sort=sort))
    seen, after = [], None
    for _ in range(10):
        rows, key = inbox_page(queryset, sort=sort, after=after, limit=2)
        seen += [c.public_id for c in rows]
        if key is None:
            break
        after = decode_inbox_cursor(sort, encode_inbox_cursor(sort, key))
        assert after == key
    assert sorted(seen) == sorted(c.public_id for c in expected)
    assert len(seen) == len(set(seen))


def test_a_malformed_cursor_starts_from_the_top(signed_in, channel):
    conversation = converse(channel, "Only")
    for cursor in ("garbage", "W10", "WyJ4Il0"):
        assert row_ids(signed_in.get(f"/inbox/?tab=all&cursor={cursor}")) == [
            conversation.public_id
        ]


# --- htmx fragments -------------------------------------------------------------------


def test_htmx_request_returns_only_the_list_region(signed_in, channel):
    conversation = converse(channel, "Fragment")
    response = htmx(signed_in, "/inbox/?tab=all&status=open")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<header" not in html and 'id="filters"' not in html
    assert 'class="tabs"' in html and conversation.public_id in html
    # The filter form's tab and the bulk form's return view follow out of band.
    assert re.search(r'id="tab-input" value="all" hx-swap-oob="true"', html)
    assert re.search(r'id="bulk-filters" value="tab=all" hx-swap-oob="true"', html)
    assert "HX-Request" in response["Vary"]
    full = signed_in.get("/inbox/?tab=all")
    assert "HX-Push-Url" not in full
    assert "<html" in full.content.decode() and "HX-Request" in full["Vary"]


def test_htmx_navigation_pushes_the_canonical_url_once(signed_in, channel):
    # What the filter form sends: every field, empty ones and defaults included.
    raw = "/inbox/?tab=all&q=&status=open&channel=&label=&priority=&sort=created"
    headers = {"HX-Request": "true", "HX-Trigger": "filters"}
    response = signed_in.get(raw, headers={**headers, "HX-Current-URL": "http://testserver/inbox/"})
    assert response["HX-Push-Url"] == "/inbox/?tab=all&sort=created"
    # The same view again (a second change event): no duplicate history entry.
    again = signed_in.get(
        raw, headers={**headers, "HX-Current-URL": "http://testserver/inbox/?tab=all&sort=created"}
    )
    assert again["HX-Push-Url"] == "false"
    tab = signed_in.get(
        "/inbox/?tab=mine",
        headers={
            "HX-Request": "true",
            "HX-Trigger": "tab-mine",
            "HX-Current-URL": "/inbox/?tab=all",
        },
    )
    assert tab["HX-Push-Url"] == "/inbox/"


def test_htmx_refresh_never_adds_history_entries(signed_in, channel):
    canonical = signed_in.get(
        "/inbox/?tab=all",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/inbox/?tab=all"},
    )
    assert "HX-Push-Url" not in canonical and "HX-Replace-Url" not in canonical
    # Arrived by the no-JS form (raw URL): a refresh tidies the address in place.
    raw = signed_in.get(
        "/inbox/?tab=all&q=&status=open",
        headers={"HX-Request": "true", "HX-Current-URL": "/inbox/?tab=all&q=&status=open"},
    )
    assert raw["HX-Replace-Url"] == "/inbox/?tab=all" and "HX-Push-Url" not in raw


def test_history_restore_gets_the_full_page(signed_in, channel):
    response = signed_in.get(
        "/inbox/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in response.content


def test_list_page_is_get_only(signed_in, channel):
    assert signed_in.post("/inbox/").status_code == 405


# --- Isolation ------------------------------------------------------------------------


@pytest.fixture
def foreign(other_workspace, make_channel, stranger):
    channel = make_channel(other_workspace)
    conversation = converse(channel, "Ana Souza", "parcel secret from globex")
    return conversation


def test_other_workspace_conversations_never_show(signed_in, channel, foreign):
    ours = converse(channel, "Ana Souza", "parcel")
    for query in (
        "tab=all",
        "tab=all&status=all",
        "tab=all&q=parcel",
        "tab=all&q=Ana",
        "tab=unassigned",
    ):
        ids = row_ids(signed_in.get(f"/inbox/?{query}"))
        assert foreign.public_id not in ids and ours.public_id in ids, query
    assert tab_count(signed_in.get("/inbox/?tab=all"), "all") == 1
    # Filtering by the other workspace's channel finds nothing, like an unknown id.
    assert row_ids(signed_in.get(f"/inbox/?tab=all&channel={foreign.channel.public_id}")) == []
    assert b"globex" not in signed_in.get("/inbox/?tab=all&q=parcel").content.lower()


def test_bulk_on_foreign_ids_changes_nothing(signed_in, channel, foreign):
    ours = converse(channel, "Ours")
    response = signed_in.post(
        "/inbox/bulk/",
        {"ids": [foreign.public_id, ours.public_id], "action": "close", "filters": "tab=all"},
        follow=True,
    )
    html = response.content.decode()
    foreign.refresh_from_db()
    ours.refresh_from_db()
    assert foreign.status == "open" and ours.status == "closed"
    assert "Closed 1 conversation." in html and "1 conversation not found." in html


def test_bulk_assign_to_a_foreign_agent_is_refused(signed_in, channel, stranger):
    ours = converse(channel, "Ours")
    response = signed_in.post(
        "/inbox/bulk/",
        {"ids": [ours.public_id], "action": "assign", "assignee": stranger.public_id},
        follow=True,
    )
    ours.refresh_from_db()
    assert ours.assignee_id is None
    assert f"No agent {stranger.public_id} in this workspace." in response.content.decode()


# --- Bulk actions ---------------------------------------------------------------------


def bulk(client: Client, action: str, conversations, **extra):
    data = {"ids": [c.public_id for c in conversations], "action": action, "filters": "tab=all"}
    data.update(extra)
    return client.post("/inbox/bulk/", data, follow=True)


def test_bulk_assign_me_assign_and_unassign(signed_in, channel, agent, admin_user):
    a, b = converse(channel, "A"), converse(channel, "B")
    response = bulk(signed_in, "assign_me", [a, b])
    assert response.redirect_chain == [("/inbox/?tab=all", 302)]
    assert "Assigned to you 2 conversations." in response.content.decode()
    assert {c.assignee_id for c in Conversation.objects.filter(pk__in=[a.pk, b.pk])} == {agent.pk}
    bulk(signed_in, "assign", [a], assignee=admin_user.public_id)
    a.refresh_from_db()
    assert a.assignee_id == admin_user.pk and a.assigned_by_id == agent.pk
    bulk(signed_in, "unassign", [a, b])
    assert not Conversation.objects.filter(assignee__isnull=False).exists()


def test_bulk_close_reopen_with_skips(signed_in, channel, agent):
    a, b = converse(channel, "A"), converse(channel, "B")
    close_conversation(conversation=b)
    html = bulk(signed_in, "close", [a, b]).content.decode()
    a.refresh_from_db()
    assert a.status == "closed" and a.closed_by_id == agent.pk
    assert "Closed 1 conversation." in html
    assert "Skipped 1 conversation: The conversation is already closed." in html
    bulk(signed_in, "reopen", [a, b])
    assert set(Conversation.objects.values_list("status", flat=True)) == {"open"}


def test_bulk_priority_and_label(signed_in, channel):
    a, b = converse(channel, "A"), converse(channel, "B")
    update_conversation(conversation=a, tags=["existing"])
    html = bulk(signed_in, "priority", [a, b], priority="high").content.decode()
    assert "Priority set to High on 2 conversations." in html
    bulk(signed_in, "label", [a, b], label="  refund ")
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.priority == b.priority == "high"
    assert a.tags == ["existing", "refund"] and b.tags == ["refund"]
    bad = bulk(signed_in, "priority", [a], priority="extreme").content.decode()
    assert "Choose a priority." in bad


def test_bulk_records_events_through_the_services(signed_in, channel):
    from messaging.models import OutboxEvent

    a = converse(channel, "A")
    before = OutboxEvent.objects.count()
    bulk(signed_in, "close", [a])
    assert OutboxEvent.objects.filter(event="conversation.closed").count() == 1
    assert OutboxEvent.objects.count() == before + 1


def test_bulk_without_selection_or_action_is_an_inline_error(signed_in, channel):
    a = converse(channel, "A")
    assert "Select at least one conversation." in bulk(signed_in, "close", []).content.decode()
    assert "Choose an action." in bulk(signed_in, "explode", [a]).content.decode()


def test_bulk_over_htmx_answers_the_list_region_with_the_result(signed_in, channel):
    a = converse(channel, "A")
    response = signed_in.post(
        "/inbox/bulk/",
        {"ids": [a.public_id], "action": "close", "filters": "tab=all&status=closed"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    # The message goes out of band to #flashes, outside the region, so a
    # later refresh of the region (live updates) does not wipe it.
    assert re.search(
        r'<div id="flashes" hx-swap-oob="innerHTML"><p class="flash flash-success">'
        r"Closed 1 conversation\.</p></div>",
        html,
    )
    refresh = htmx(signed_in, "/inbox/?tab=all&status=closed").content.decode()
    assert 'id="flashes"' not in refresh
    # Re-rendered with the view it came from: the closed tab now lists it.
    assert row_ids(response) == [a.public_id]


def test_bulk_needs_post_and_csrf(agent, channel):
    a = converse(channel, "A")
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.get("/inbox/bulk/").status_code == 405
    assert client.post("/inbox/bulk/", {"ids": [a.public_id], "action": "close"}).status_code == 403
    a.refresh_from_db()
    assert a.status == "open"
    page = client.get("/inbox/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        "/inbox/bulk/", {"ids": [a.public_id], "action": "close", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.status == "closed"


def test_bulk_return_view_is_parsed_not_redirected_to(signed_in, channel):
    a = converse(channel, "A")
    response = signed_in.post(
        "/inbox/bulk/",
        {"ids": [a.public_id], "action": "close", "filters": "https://evil.example/?tab=all"},
    )
    assert response.url.startswith("/inbox/")


# --- Escaping -------------------------------------------------------------------------


def test_user_content_is_escaped(signed_in, channel, agent, workspace):
    conversation = converse(channel, XSS_SCRIPT, XSS_IMG)
    update_conversation(conversation=conversation, tags=[XSS_SCRIPT, XSS_IMG])
    evil_agent, _ = create_agent(workspace=workspace, email="evil@acme.test", display_name=XSS_IMG)
    assign_conversation(conversation=conversation, assignee=evil_agent)
    for url in (
        "/inbox/?tab=all",
        f"/inbox/?tab=all&q={XSS_SCRIPT}",
        f"/inbox/?tab=all&label={XSS_IMG}",
    ):
        for response in (signed_in.get(url), htmx(signed_in, url)):
            html = response.content.decode()
            assert XSS_SCRIPT not in html and XSS_IMG not in html, url
            assert "<img src=x" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = signed_in.get("/inbox/?tab=all").content.decode()
    # In attributes too (checkbox label, avatar title).
    assert 'aria-label="Select conversation with &lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'title="Assigned to &lt;img src=x onerror=&quot;alert(2)&quot;&gt;"' in html


def test_workspace_and_agent_names_are_escaped_in_the_layout(client, channel, workspace):
    workspace.name = XSS_SCRIPT
    workspace.save()
    user, _ = create_agent(
        workspace=workspace, email="x@acme.test", display_name=XSS_IMG, password=None
    )
    client.force_login(user)
    html = client.get("/inbox/").content.decode()
    assert XSS_SCRIPT not in html and XSS_IMG not in html


def test_bulk_result_messages_escape_the_label(signed_in, channel):
    a = converse(channel, "A")
    html = bulk(signed_in, "label", [a], label=XSS_SCRIPT).content.decode()
    assert XSS_SCRIPT not in html and "&lt;script&gt;" in html


# --- Query counts ---------------------------------------------------------------------


def _populate(channel, agent, admin_user, n: int) -> None:
    for i in range(n):
        conversation = converse(channel, f"Contact {i}", f"message {i}")
        assignee = (agent, admin_user, None)[i % 3]
        if assignee:
            assign_conversation(conversation=conversation, assignee=assignee)
        if i % 4 == 0:
            update_conversation(conversation=conversation, tags=["t1", "t2"], priority="high")


# session, user, memberships (+workspace), tab counts, page rows, channels,
# agents, unread count (title).
FULL_PAGE_QUERIES = 8
# session, user, memberships, tab counts, page rows.
FRAGMENT_QUERIES = 5
# session, user, memberships, page rows.
MORE_ROWS_QUERIES = 4


@pytest.mark.parametrize("n", [1, 30])
def test_list_page_query_count_is_constant(
    signed_in, channel, agent, admin_user, n, django_assert_num_queries
):
    _populate(channel, agent, admin_user, n)
    with django_assert_num_queries(FULL_PAGE_QUERIES):
        response = signed_in.get("/inbox/?tab=all")
    assert len(row_ids(response)) == min(n, 25)
    with django_assert_num_queries(FULL_PAGE_QUERIES):
        signed_in.get("/inbox/?tab=mine&q=Contact&label=t1&sort=priority")
    with django_assert_num_queries(FRAGMENT_QUERIES):
        htmx(signed_in, "/inbox/?tab=all&status=all&sort=waiting")


def test_next_rows_query_count_is_constant(
    signed_in, channel, agent, admin_user, django_assert_num_queries
):
    _populate(channel, agent, admin_user, 30)
    url = load_more_url(signed_in.get("/inbox/?tab=all"))
    with django_assert_num_queries(MORE_ROWS_QUERIES):
        response = htmx(signed_in, url)
    assert len(row_ids(response)) == 5


def test_membership_removed_between_requests_is_not_cached(signed_in, agent, channel):
    assert signed_in.get("/inbox/").status_code == 200
    Membership.objects.filter(user=agent).delete()
    assert signed_in.get("/inbox/").status_code == 302
