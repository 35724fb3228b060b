"""GET /conversations, GET /conversations/:id, participants: shape, filters, sorts, budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbox.services import create_api_key
from messaging.models import Conversation, Message
from messaging.services import (
    assign_conversation,
    close_conversation,
    send_message,
    update_conversation,
)
from tests.messaging.api.conftest import Api
from tests.messaging.api.test_conversations_helpers import agent_client, inbound, set_times

ALWAYS = {
    "status",
    "priority",
    "channel",
    "contact",
    "assignee",
    "lastMessage",
    "unreadCount",
    "messageCount",
    "firstMessageAt",
    "lastMessageAt",
    "metadata",
    "tags",
    "createdAt",
    "updatedAt",
}


def _ids(api, **params) -> list[str]:
    status, body = api.get("/conversations", params)
    assert status == 200, body
    return [item["id"] for item in body["data"]]


# --- Shape --------------------------------------------------------------------


def test_list_renders_the_documented_attributes(api, conversation, channel):
    status, body = api.get("/conversations")
    assert status == 200
    assert body["meta"]["pagination"]["totalCount"] == 1
    item = body["data"][0]
    assert (item["id"], item["type"]) == (conversation.public_id, "conversation")
    attrs = item["attributes"]
    # Lifecycle fields appear only once set: an open, never-assigned thread has none.
    assert set(attrs) == ALWAYS
    message = conversation.messages.get()
    assert attrs["status"] == "open" and attrs["priority"] == "normal"
    assert attrs["channel"] == {"id": channel.public_id, "type": "whatsapp", "name": channel.name}
    assert attrs["contact"] == {
        "id": conversation.contact.public_id,
        "name": "Ana Souza",
        "phone": "+5511999999999",
        "email": None,
        "avatar": None,
    }
    assert attrs["assignee"] is None
    assert attrs["lastMessage"] == {
        "id": message.public_id,
        "content": {"type": "text", "text": "Hi, I need help with my order"},
        "direction": "inbound",
        "timestamp": attrs["lastMessageAt"],
    }
    assert (attrs["unreadCount"], attrs["messageCount"]) == (1, 1)
    assert attrs["firstMessageAt"].endswith("Z") and attrs["createdAt"].endswith("Z")


def test_lifecycle_fields_appear_once_set(api, conversation, agent, admin_user):
    assign_conversation(conversation=conversation, assignee=agent, by=admin_user)
    close_conversation(conversation=conversation, by=admin_user, resolution="spam", reason="bot")
    attrs = api.get(f"/conversations/{conversation.public_id}")[1]["data"]["attributes"]
    assert attrs["status"] == "closed"
    assert attrs["assignee"] == {"id": agent.public_id, "type": "user", "name": agent.name}
    assert attrs["closedBy"] == {"id": admin_user.public_id, "type": "user", "name": "admin"}
    assert (attrs["resolution"], attrs["closureReason"]) == ("spam", "bot")
    assert attrs["closedAt"].endswith("Z") and attrs["assignedAt"].endswith("Z")
    assert "snoozedUntil" not in attrs and "reopenedAt" not in attrs


def test_unknown_conversation_is_404(api, db):
    status, body = api.get("/conversations/conv_doesnotexist0000000000")
    assert (status, body["error"]["code"]) == (404, "CONVERSATION_NOT_FOUND")


# --- Filters ------------------------------------------------------------------


@pytest.fixture
def spread(workspace, channel, make_channel, agent, admin_user):
    """Four conversations that differ in every filterable way."""
    sms = make_channel(workspace, "sms", name="SMS line")
    ana = inbound(channel, "+5511999999999", "where is my parcel", name="Ana Souza")
    bob = inbound(channel, "+14155552671", "refund please", name="Bob Stone")
    cid = inbound(sms, "+14155552672", "hello there", name="Cid Moreau")
    dee = inbound(sms, "+14155552673", "thanks", name="Dee Park")
    assign_conversation(conversation=ana, assignee=agent)
    assign_conversation(conversation=cid, assignee=admin_user)
    update_conversation(conversation=bob, priority="urgent", tags=["vip", "billing"])
    update_conversation(conversation=cid, priority="low", tags=["vipish"])
    close_conversation(conversation=dee)
    set_times(ana, minutes_ago=40)
    set_times(bob, minutes_ago=30)
    set_times(cid, minutes_ago=20)
    set_times(dee, minutes_ago=10)
    rows = {"ana": ana, "bob": bob, "cid": cid, "dee": dee}
    return {name: c.public_id for name, c in rows.items()} | {"sms": sms, "rows": rows}


def test_filters(api, spread, channel, agent):
    s = spread
    assert set(_ids(api, status="open")) == {s["ana"], s["bob"], s["cid"]}
    assert _ids(api, status="closed") == [s["dee"]]
    assert set(_ids(api, channelId=channel.public_id)) == {s["ana"], s["bob"]}
    assert set(_ids(api, channelType="sms")) == {s["cid"], s["dee"]}
    assert _ids(api, channelType="telegram") == []
    assert _ids(api, assigneeId=agent.public_id) == [s["ana"]]
    assert set(_ids(api, assigneeId="none")) == {s["bob"], s["dee"]}
    assert _ids(api, assigneeId="user_unknown") == []
    contact = s["rows"]["bob"].contact.public_id
    assert _ids(api, contactId=contact) == [s["bob"]]
    assert _ids(api, priority="urgent") == [s["bob"]]
    # Exact tag match: `vip` is not `vipish`.
    assert _ids(api, tag="vip") == [s["bob"]]
    assert _ids(api, tag="vipish") == [s["cid"]]
    assert _ids(api, tag="nope") == []
    mid = (timezone.now() - timedelta(minutes=25)).isoformat()
    assert set(_ids(api, startDate=mid)) == {s["cid"], s["dee"]}
    assert set(_ids(api, endDate=mid)) == {s["ana"], s["bob"]}
    assert _ids(api, status="open", channelType="sms", priority="low") == [s["cid"]]


def test_search_covers_contact_fields_and_message_text(api, spread, workspace):
    s = spread
    assert _ids(api, search="bob st") == [s["bob"]]  # name, any case
    assert _ids(api, search="4155552672") == [s["cid"]]  # phone
    assert _ids(api, search="refund") == [s["bob"]]  # message text
    assert _ids(api, search="parcel") == [s["ana"]]
    assert _ids(api, search="zebra") == []
    # A deleted message no longer makes its conversation match.
    Message.objects.filter(conversation__public_id=s["ana"]).update(deleted_at=timezone.now())
    assert _ids(api, search="parcel") == []


def test_assignee_me_is_the_calling_agent(api, spread, workspace, agent, admin_user):
    assert _ids(agent_client(workspace, agent), assigneeId="me") == [spread["ana"]]
    assert _ids(agent_client(workspace, admin_user, "admin"), assigneeId="me") == [spread["cid"]]
    # An API key acts for the workspace: there is no "me".
    status, body = api.get("/conversations", {"assigneeId": "me"})
    assert status == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"][0]["field"] == "assigneeId"
    assert "agent access token" in body["error"]["message"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "archived"),
        ("priority", "asap"),
        ("channelType", "fax"),
        ("sortBy", "name"),
        ("sortOrder", "up"),
        ("startDate", "yesterday"),
        ("endDate", "2024-13-45"),
        ("perPage", "101"),
        ("page", "0"),
    ],
)
def test_bad_query_values_are_400_naming_the_parameter(api, conversation, param, value):
    status, body = api.get("/conversations", {param: value})
    assert status == 400, body
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"][0]["field"] == param


# --- Sorting ------------------------------------------------------------------


def test_default_sort_is_updated_at_newest_first(api, spread):
    s = spread
    assert _ids(api) == [s["dee"], s["cid"], s["bob"], s["ana"]]
    assert _ids(api, sortOrder="asc") == [s["ana"], s["bob"], s["cid"], s["dee"]]


def test_sort_by_created_at_last_message_at_and_priority(api, spread):
    s = spread
    rows = s["rows"]
    # created_at inverted relative to updated_at, so the two sorts differ.
    for minutes, name in ((10, "ana"), (20, "bob"), (30, "cid"), (40, "dee")):
        Conversation.objects.filter(pk=rows[name].pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes)
        )
    assert _ids(api, sortBy="createdAt") == [s["ana"], s["bob"], s["cid"], s["dee"]]
    # A conversation without messages sorts last either way.
    now = timezone.now()
    for minutes, name in ((5, "cid"), (15, "ana"), (25, "bob")):
        Conversation.objects.filter(pk=rows[name].pk).update(
            last_message_at=now - timedelta(minutes=minutes)
        )
    Conversation.objects.filter(pk=rows["dee"].pk).update(last_message_at=None)
    assert _ids(api, sortBy="lastMessageAt") == [s["cid"], s["ana"], s["bob"], s["dee"]]
    assert _ids(api, sortBy="lastMessageAt", sortOrder="asc") == [
        s["bob"],
        s["ana"],
        s["cid"],
        s["dee"],
    ]
    # By urgency, not alphabetically: urgent > normal > low; ties by id, newest first.
    assert _ids(api, sortBy="priority") == [s["bob"], s["dee"], s["ana"], s["cid"]]
    assert _ids(api, sortBy="priority", sortOrder="asc") == [
        s["cid"],
        s["ana"],
        s["dee"],
        s["bob"],
    ]


def test_pagination(api, spread):
    status, body = api.get("/conversations", {"perPage": 3, "page": 2})
    assert status == 200
    assert [d["id"] for d in body["data"]] == [spread["ana"]]
    assert body["meta"]["pagination"] == {
        "page": 2,
        "perPage": 3,
        "totalPages": 2,
        "totalCount": 4,
        "hasNextPage": False,
        "hasPrevPage": True,
        "totalCountExact": True,
    }


# --- Detail with messages -----------------------------------------------------


def _thread(conversation, channel, n):
    """`n` more inbound messages, a minute apart, after the fixture's first one."""
    messages = [conversation.messages.get()]
    for i in range(n):
        messages.append(
            inbound(channel, "+5511999999999", f"message {i}").messages.order_by("-id").first()
        )
    start = timezone.now() - timedelta(days=1)
    for i, m in enumerate(messages):
        Message.objects.filter(pk=m.pk).update(created_at=start + timedelta(minutes=i))
    return [m.public_id for m in messages]


def test_include_messages_gives_the_newest_in_chronological_order(api, conversation, channel):
    ids = _thread(conversation, channel, 24)
    path = f"/conversations/{conversation.public_id}"
    assert "relationships" not in api.get(path)[1]["data"]
    data = api.get(path, {"includeMessages": "true"})[1]["data"]
    # Default messageLimit is 20.
    assert [m["id"] for m in data["relationships"]["messages"]] == ids[-20:]
    data = api.get(path, {"includeMessages": "true", "messageLimit": 3})[1]["data"]
    messages = data["relationships"]["messages"]
    assert [m["id"] for m in messages] == ids[-3:]
    assert messages[0]["type"] == "message" and "reactions" in messages[0]["attributes"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"includeMessages": "maybe"}, "includeMessages"),
        ({"includeMessages": "true", "messageLimit": "101"}, "messageLimit"),
        ({"includeMessages": "true", "messageLimit": "0"}, "messageLimit"),
        ({"includeMessages": "true", "messageLimit": "ten"}, "messageLimit"),
    ],
)
def test_bad_detail_parameters_are_400(api, conversation, params, field):
    status, body = api.get(f"/conversations/{conversation.public_id}", params)
    assert status == 400
    assert body["error"]["details"][0]["field"] == field


# --- Participants ---------------------------------------------------------------


def test_participants_are_the_contact_and_the_agents_who_took_part(
    api, workspace, conversation, agent, admin_user, make_channel
):
    from inbox.services import create_agent

    helper, _ = create_agent(workspace=workspace, email="helper@acme.test", display_name="Hal")
    bystander, _ = create_agent(workspace=workspace, email="bystander@acme.test")
    # admin wrote a note; agent was assigned then replaced by helper.
    send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "looking"},
        sender_user=admin_user,
        is_private=True,
    )
    assign_conversation(conversation=conversation, assignee=agent)
    assign_conversation(conversation=conversation, assignee=helper)
    status, body = api.get(f"/conversations/{conversation.public_id}/participants")
    assert status == 200
    people = {p["id"]: p for p in body["data"]}
    assert body["data"][0] == {
        "id": conversation.contact.public_id,
        "type": "contact",
        "attributes": {
            "name": "Ana Souza",
            "phone": "+5511999999999",
            "email": None,
            "role": "contact",
        },
    }
    assert set(people) == {
        conversation.contact.public_id,
        admin_user.public_id,
        agent.public_id,
        helper.public_id,
    }
    assert bystander.public_id not in people
    assert people[admin_user.public_id]["attributes"] == {
        "name": "admin",
        "email": "admin@acme.test",
        "role": "admin",
    }
    assert people[helper.public_id]["type"] == "user"
    assert people[helper.public_id]["attributes"]["role"] == "agent"
    assert people[helper.public_id]["attributes"]["name"] == "Hal"


# --- Scopes -------------------------------------------------------------------


def test_scopes(workspace, conversation):
    _, read_only = create_api_key(workspace=workspace, name="ro", scopes=["conversations:read"])
    _, messages_only = create_api_key(workspace=workspace, name="msg", scopes=["messages:read"])
    reader, outsider = Api(read_only), Api(messages_only)
    path = f"/conversations/{conversation.public_id}"
    assert reader.get("/conversations")[0] == 200
    assert reader.get(path)[0] == 200
    assert reader.get(f"{path}/participants")[0] == 200
    for method, url, data in (
        ("post", "/conversations", {"channelId": "ch_x", "contactId": "contact_x"}),
        ("patch", path, {"priority": "high"}),
        ("post", f"{path}/close", {}),
        ("post", f"{path}/reopen", {}),
        ("post", f"{path}/assign", {"assigneeId": None}),
        ("post", f"{path}/transfer", {"toAssigneeId": "user_x"}),
    ):
        status, body = getattr(reader, method)(url, data)
        assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS"), url
    status, body = outsider.get("/conversations")
    assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS")


# --- Query budgets ------------------------------------------------------------


def _queries(client, path, params=None):
    with CaptureQueriesContext(connection) as ctx:
        status, body = client.get(path, params)
    assert status == 200, body
    return len(ctx.captured_queries)


@pytest.fixture
def busy_inbox(workspace, channel, agent, admin_user):
    """101 conversations, each assigned, tagged, with a last message; half closed by an agent."""
    for i in range(101):
        inbound(channel, f"+1415555{i:04d}", f"order {i}", name=f"C{i}")
    # Setup shortcut: the columns the renderer joins, set in bulk.
    rows = Conversation.objects.filter(workspace=workspace)
    rows.update(assignee=agent, assigned_at=timezone.now(), tags=["vip"])
    rows.filter(pk__in=rows.values("pk")[:50]).update(
        status="closed", closed_at=timezone.now(), closed_by=admin_user, resolution="resolved"
    )


def test_list_runs_a_constant_number_of_queries(api, busy_inbox):
    api.get("/conversations")  # warm the key's last_used_at write
    one = _queries(api, "/conversations", {"perPage": 1})
    hundred = _queries(api, "/conversations", {"perPage": 100})
    # 1 API key, 1 COUNT, 1 page (channel, contact, assignee, last message and
    # closer joined).
    assert one == hundred == 3
    # Filters, search (a message-text subquery) and tag stay inside those queries.
    params = {"search": "order", "tag": "vip", "status": "closed", "sortBy": "priority"}
    assert _queries(api, "/conversations", {**params, "perPage": 1}) == 3
    assert _queries(api, "/conversations", {**params, "perPage": 100}) == 3


def test_detail_with_messages_runs_a_constant_number_of_queries(api, conversation, channel):
    _thread(conversation, channel, 120)
    path = f"/conversations/{conversation.public_id}"
    api.get(path)
    assert _queries(api, path) == 2  # 1 API key, 1 conversation (all joined)
    one = _queries(api, path, {"includeMessages": "true", "messageLimit": 1})
    hundred = _queries(api, path, {"includeMessages": "true", "messageLimit": 100})
    # 1 API key, 1 conversation, 1 message page, 1 attachments, 1 reactions.
    assert one == hundred == 5


def test_participants_run_a_constant_number_of_queries(api, workspace, conversation):
    from inbox.services import create_agent

    path = f"/conversations/{conversation.public_id}/participants"
    api.get(path)
    before = _queries(api, path)
    for i in range(5):
        user, _ = create_agent(workspace=workspace, email=f"a{i}@acme.test")
        send_message(
            workspace=workspace,
            conversation=conversation,
            content={"type": "text", "text": "note"},
            sender_user=user,
            is_private=True,
        )
    # 1 API key, 1 conversation, 1 agents (with their role as a subquery).
    assert before == _queries(api, path) == 3
    assert len(api.get(path)[1]["data"]) == 6
