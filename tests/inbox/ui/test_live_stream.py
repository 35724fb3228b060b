"""`GET /inbox/events/`: the agent inbox's server-sent events stream.

Streams are read chunk by chunk through the test client, with the polling
bus and short intervals (`fast_live`); changes are made through the
services between reads, as another request would.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext

from inbox.live.feed import latest_event_id
from inbox.models import Membership
from inbox.ui.context import SESSION_WORKSPACE_KEY
from messaging.services import assign_conversation, close_conversation, receive_message
from tests.inbox.ui.live_support import (  # noqa: F401
    SseReader,
    emit,
    fast_live_fixture,
    fresh_bus_fixture,
    hang_up,
)

URL = "/inbox/events/"
PAYLOAD = (
    "<script>alert(1)</script><img src=x onerror=alert(2)>\n\nid: 999999\nevent: reset\ndata: {}"
)


def open_stream(client, **headers) -> tuple[object, SseReader]:
    response = client.get(URL, **headers)
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, SseReader(iter(response.streaming_content))


def is_event(name: str):
    return lambda m: m.event == name


def read_ready(reader: SseReader) -> None:
    """The opening of every stream: retry, ready, then the unread count."""
    reader.read_until(is_event("unread"))


@pytest.fixture
def signed_in(client, agent):
    client.force_login(agent)
    return client


# --- Who may listen ---------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_refused_with_403_not_a_redirect(client, fast_live):
    response = client.get(URL)
    assert response.status_code == 403
    assert not response.streaming
    assert response.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.django_db
def test_a_session_naming_a_workspace_without_membership_is_refused(
    signed_in, other_workspace, fast_live
):
    session = signed_in.session
    session[SESSION_WORKSPACE_KEY] = other_workspace.pk
    session.save()
    assert signed_in.get(URL).status_code == 403


@pytest.mark.django_db
def test_only_get_is_allowed(signed_in, fast_live):
    assert signed_in.post(URL).status_code == 405


@pytest.mark.django_db
def test_the_stream_opens_with_retry_ready_and_the_unread_count(signed_in, conversation, fast_live):
    response, reader = open_stream(signed_in)
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert "no-cache" in response["Cache-Control"]
    assert response["X-Accel-Buffering"] == "no"
    assert response["X-Content-Type-Options"] == "nosniff"
    reader.read_until(lambda m: m.retry is not None)
    ready = reader.read_until(is_event("ready")).json
    assert ready["workspaceId"] == conversation.workspace.public_id
    assert "message.received" in ready["types"] and "conversation.assigned" in ready["types"]
    # The fixture's conversation is unassigned with one unread message.
    assert reader.read_until(is_event("unread")).json == {"unreadConversations": 1}
    hang_up(response)


# --- Live events -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_new_messages_assignments_and_status_changes_arrive_live(
    signed_in, agent, channel, fast_live
):
    response, reader = open_stream(signed_in)
    read_ready(reader)
    assert reader.events("unread")[-1].json == {"unreadConversations": 0}

    received = receive_message(
        channel=channel,
        sender="+5511988887777",
        content={"type": "text", "text": "Is my order on its way?"},
        sender_name="Bruno",
    )
    conversation = received.message.conversation
    created = reader.read_until(is_event("conversation.created"))
    message = reader.read_until(is_event("message.received"))
    assert int(message.id) > int(created.id)
    envelope = message.json
    assert envelope["conversationId"] == conversation.public_id
    assert envelope["data"]["id"] == received.message.public_id
    assert envelope["event"] == "message.received" and envelope["id"].startswith("evt_")
    assert reader.read_until(is_event("unread")).json == {"unreadConversations": 1}

    assign_conversation(conversation=conversation, assignee=agent, by=agent)
    assigned = reader.read_until(is_event("conversation.assigned")).json
    assert assigned["data"]["attributes"]["assigneeId"] == agent.public_id

    close_conversation(conversation=conversation, by=agent)
    reader.read_until(is_event("conversation.closed"))
    # Closed: no longer counted in the tab title.
    assert reader.read_until(lambda m: m.event == "unread" and m.json["unreadConversations"] == 0)
    hang_up(response)


@pytest.mark.django_db(transaction=True)
def test_events_of_other_workspaces_never_reach_the_stream(
    client, agent, stranger, workspace, other_workspace, fast_live
):
    # The agent belongs to both workspaces; the session is on ours.
    Membership.objects.create(workspace=other_workspace, user=agent)
    client.force_login(agent)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    response, reader = open_stream(client)
    read_ready(reader)
    foreign = emit(other_workspace, 3) + emit(other_workspace, event="message.received")
    (ours,) = emit(workspace)
    reader.read_until(lambda m: m.id == str(ours.pk))
    emit(other_workspace, 2)
    # A few heartbeats later, still nothing of theirs.
    for _ in range(2):
        reader.read_until(lambda m: m.comment == "heartbeat")
    streamed = {m.id for m in reader.received if m.id}
    assert streamed == {str(ours.pk)}
    assert not streamed & {str(e.pk) for e in foreign}
    hang_up(response)


@pytest.mark.django_db
def test_the_strangers_stream_gets_only_their_own_workspace(
    client, stranger, workspace, other_workspace, fast_live
):
    start = latest_event_id()
    ours = emit(workspace, 2)
    (theirs,) = emit(other_workspace)
    client.force_login(stranger)
    response, reader = open_stream(client, HTTP_LAST_EVENT_ID=str(start))
    reader.read_until(lambda m: m.id == str(theirs.pk))
    reader.read_until(lambda m: m.comment == "heartbeat")
    assert {m.id for m in reader.received if m.id} == {str(theirs.pk)}
    assert not {str(e.pk) for e in ours} & {m.id for m in reader.received}
    hang_up(response)


# --- Catching up after a drop ---------------------------------------------------------


@pytest.mark.django_db
def test_a_reconnect_with_last_event_id_replays_everything_after_it(
    signed_in, workspace, fast_live
):
    first, *missed = emit(workspace, 4)
    response, reader = open_stream(signed_in, HTTP_LAST_EVENT_ID=str(first.pk))
    reader.read_until(lambda m: m.id == str(missed[-1].pk))
    assert [m.id for m in reader.received if m.id] == [str(e.pk) for e in missed]
    hang_up(response)


@pytest.mark.django_db
def test_after_query_resumes_and_last_event_id_wins_over_it(signed_in, workspace, fast_live):
    events = emit(workspace, 3)
    response, reader = open_stream(signed_in, QUERY_STRING=f"after={events[0].pk}")
    reader.read_until(lambda m: m.id == str(events[2].pk))
    assert [m.id for m in reader.received if m.id] == [str(events[1].pk), str(events[2].pk)]
    hang_up(response)
    response, reader = open_stream(
        signed_in, QUERY_STRING=f"after={events[0].pk}", HTTP_LAST_EVENT_ID=str(events[1].pk)
    )
    reader.read_until(lambda m: m.id == str(events[2].pk))
    assert [m.id for m in reader.received if m.id] == [str(events[2].pk)]
    hang_up(response)


@pytest.mark.django_db
def test_a_garbage_cursor_means_from_now(signed_in, workspace, fast_live):
    emit(workspace, 2)
    response, reader = open_stream(signed_in, HTTP_LAST_EVENT_ID="12abc; DROP TABLE")
    reader.read_until(lambda m: m.comment == "heartbeat")
    assert [m.id for m in reader.received if m.id] == []
    hang_up(response)


@pytest.mark.django_db
def test_too_many_missed_events_send_reset(signed_in, workspace, fast_live):
    fast_live.LIVE_UPDATES_REPLAY_LIMIT = 5
    start = latest_event_id()
    emit(workspace, 6)
    response, reader = open_stream(signed_in, HTTP_LAST_EVENT_ID=str(start))
    reset = reader.read_until(is_event("reset"))
    assert reset.id == str(latest_event_id())
    assert reset.json == {"reason": "too-far-behind"}
    reader.read_until(lambda m: m.comment == "heartbeat")
    # Nothing replayed: the page reloads its data instead.
    assert [m.id for m in reader.received if m.id] == [reset.id]
    hang_up(response)


# --- Connection upkeep -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_idle_stream_sends_heartbeat_comments(signed_in, fast_live):
    response, reader = open_stream(signed_in)
    read_ready(reader)
    reader.read_until(lambda m: m.comment == "heartbeat", timeout=2)
    hang_up(response)


@pytest.mark.django_db
def test_the_stream_ends_after_its_maximum_life(signed_in, fast_live):
    fast_live.LIVE_UPDATES_MAX_STREAM_SECONDS = 0.5
    _, reader = open_stream(signed_in)
    reader.read_to_end(timeout=5)
    assert reader.ended
    assert not reader.events("closed")  # a plain end: the browser reconnects


@pytest.mark.django_db(transaction=True)
def test_signing_out_elsewhere_closes_the_stream(signed_in, fast_live):
    fast_live.LIVE_UPDATES_REVALIDATE_SECONDS = 0.1
    _, reader = open_stream(signed_in)
    read_ready(reader)
    signed_in.logout()  # deletes the session, as the sign-out form does
    closed = reader.read_until(is_event("closed"))
    assert closed.json == {"reason": "signed-out"}
    reader.read_to_end()


@pytest.mark.django_db(transaction=True)
def test_a_password_change_elsewhere_closes_the_stream(signed_in, agent, fast_live):
    fast_live.LIVE_UPDATES_REVALIDATE_SECONDS = 0.1
    _, reader = open_stream(signed_in)
    read_ready(reader)
    reader.read_until(lambda m: m.comment == "heartbeat")  # still open after a check
    agent.set_password("a-new-password-entirely-9")
    agent.save(update_fields=["password"])
    assert reader.read_until(is_event("closed")).json == {"reason": "signed-out"}
    reader.read_to_end()


@pytest.mark.django_db(transaction=True)
def test_removing_the_membership_closes_the_stream(signed_in, agent, workspace, fast_live):
    fast_live.LIVE_UPDATES_REVALIDATE_SECONDS = 0.1
    _, reader = open_stream(signed_in)
    read_ready(reader)
    Membership.objects.filter(user=agent, workspace=workspace).delete()
    assert reader.read_until(is_event("closed")).json == {"reason": "no-membership"}
    reader.read_to_end()


@pytest.mark.django_db(transaction=True)
def test_switching_workspace_elsewhere_resets_the_stream(
    signed_in, agent, workspace, other_workspace, fast_live
):
    fast_live.LIVE_UPDATES_REVALIDATE_SECONDS = 0.1
    Membership.objects.create(workspace=other_workspace, user=agent)
    session = signed_in.session
    session[SESSION_WORKSPACE_KEY] = workspace.pk
    session.save()
    _, reader = open_stream(signed_in)
    read_ready(reader)
    session = signed_in.session
    session[SESSION_WORKSPACE_KEY] = other_workspace.pk
    session.save()
    assert reader.read_until(is_event("reset")).json == {"reason": "workspace-changed"}
    reader.read_to_end()


# --- User content in the stream ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_user_content_cannot_break_the_event_framing(signed_in, channel, fast_live):
    response, reader = open_stream(signed_in)
    read_ready(reader)
    received = receive_message(
        channel=channel,
        sender="+5511977776666",
        content={"type": "text", "text": PAYLOAD},
        sender_name=PAYLOAD,
        metadata={"note": PAYLOAD},
    )
    message = reader.read_until(is_event("message.received"))
    reader.read_until(lambda m: m.comment == "heartbeat")
    # One data line of JSON that gives the text back exactly; a browser
    # never renders it (text/event-stream, nosniff) and live.js never puts
    # it into HTML.
    assert "\n" not in message.data
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["X-Content-Type-Options"] == "nosniff"
    attributes = message.json["data"]["attributes"]
    assert attributes["content"]["text"] == PAYLOAD
    assert attributes["metadata"]["note"] == PAYLOAD
    assert message.json["data"]["id"] == received.message.public_id
    assert not reader.events("reset")
    assert "999999" not in {m.id for m in reader.received}
    hang_up(response)


# --- Query budget ------------------------------------------------------------------------------


def _queries_to_replay(client, workspace, count: int) -> int:
    start = latest_event_id()
    events = emit(workspace, count, event="message.received")
    with CaptureQueriesContext(connection) as captured:
        response, reader = open_stream(client, HTTP_LAST_EVENT_ID=str(start))
        # The unread count after the batch is computed before it is sent.
        reader.read_until(lambda m: m.id == str(events[-1].pk))
    hang_up(response)
    return len(captured)


@pytest.mark.django_db
def test_connecting_and_replaying_costs_the_same_queries_for_1_or_30_events(
    signed_in, workspace, fast_live
):
    fast_live.LIVE_UPDATES_SETTLE_SECONDS = 10
    # session, user, memberships, unread; latest id, cursor's time, settled
    # floor, gap check; one read of the batch; unread after it.
    assert _queries_to_replay(signed_in, workspace, 1) == 10
    assert _queries_to_replay(signed_in, workspace, 30) == 10


# --- ASGI ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_under_asgi_the_stream_is_asynchronous_and_live(agent, workspace, fast_live):
    async_client = AsyncClient()
    async_client.force_login(agent)

    async def scenario():
        response = await async_client.get(URL)
        assert response.status_code == 200
        assert response.is_async
        chunks = response.streaming_content.__aiter__()
        text = ""
        while "event: unread" not in text:
            text += (await chunks.__anext__()).decode()
        from asgiref.sync import sync_to_async

        (event,) = await sync_to_async(emit)(workspace)
        while f"id: {event.pk}" not in text:
            text += (await chunks.__anext__()).decode()
        await chunks.aclose()
        return text, event

    text, event = async_to_sync(scenario)()
    block = text.split(f"id: {event.pk}\n", 1)[1].split("\n\n", 1)[0]
    assert block.startswith("event: test.ping\ndata: ")
    assert json.loads(block.split("data: ", 1)[1])["id"] == event.public_id
