"""POST /conversations, PATCH, close, reopen, assign and transfer through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Channel
from inbox.services import create_agent
from messaging.models import Contact, Conversation, Message, OutboxEvent
from messaging.services import close_conversation, receive_message
from tests.messaging.api.test_conversations_helpers import agent_client


def _snapshot():
    """Every row a failed request must leave untouched."""
    return (
        list(Conversation.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        list(Message.objects.order_by("pk").values()),
        OutboxEvent.objects.count(),
    )


def _error(body) -> tuple[str, str | None]:
    details = body["error"].get("details") or [{}]
    return body["error"]["code"], details[0].get("field")


def _later(**kwargs) -> str:
    return (timezone.now() + timedelta(**kwargs)).isoformat()


# --- Create -------------------------------------------------------------------


def test_create_with_a_new_contact_normalises_the_phone(api, channel, agent):
    status, body = api.post(
        "/conversations",
        {
            "channelId": channel.public_id,
            "contact": {"phone": "+55 (11) 98888-7777", "name": "Rui", "email": "Rui@X.test"},
            "assigneeId": agent.public_id,
            "metadata": {"orderId": "42"},
            "tags": ["vip", " vip ", ""],
        },
    )
    assert status == 201, body
    attrs = body["data"]["attributes"]
    assert attrs["contact"]["phone"] == "+5511988887777"
    assert attrs["contact"]["email"] == "rui@x.test"
    assert attrs["contact"]["name"] == "Rui"
    assert attrs["assignee"]["id"] == agent.public_id and attrs["assignedAt"]
    assert (attrs["metadata"], attrs["tags"]) == ({"orderId": "42"}, ["vip"])
    assert (attrs["status"], attrs["messageCount"], attrs["lastMessage"]) == ("open", 0, None)
    conversation = Conversation.objects.get(public_id=body["data"]["id"])
    event = OutboxEvent.objects.get(event="conversation.created")
    assert event.conversation_public_id == conversation.public_id
    assert OutboxEvent.objects.filter(event="contact.created").count() == 1


def test_create_reuses_the_contact_with_that_phone_or_email(api, workspace, channel, conversation):
    close_conversation(conversation=conversation)
    known = conversation.contact
    status, body = api.post(
        "/conversations", {"channelId": channel.public_id, "contact": {"phone": known.phone}}
    )
    assert status == 201, body
    assert body["data"]["attributes"]["contact"]["id"] == known.public_id
    assert body["data"]["id"] != conversation.public_id  # a new thread, the closed one stays
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_create_with_a_contact_id(api, make_channel, workspace, conversation):
    email_channel = make_channel(workspace, "email", config={"fromEmail": "help@acme.test"})
    sms = make_channel(workspace, "sms")
    contact = conversation.contact
    status, body = api.post(
        "/conversations", {"channelId": sms.public_id, "contactId": contact.public_id}
    )
    assert status == 201, body
    assert body["data"]["attributes"]["channel"]["type"] == "sms"
    # The contact has no email: an email conversation could never reach them.
    before = _snapshot()
    status, body = api.post(
        "/conversations", {"channelId": email_channel.public_id, "contactId": contact.public_id}
    )
    assert (status, _error(body)) == (400, ("VALIDATION_ERROR", "contactId"))
    assert _snapshot() == before


def test_create_refuses_a_second_active_conversation(api, channel, conversation):
    before = _snapshot()
    status, body = api.post(
        "/conversations",
        {"channelId": channel.public_id, "contact": {"phone": "+5511999999999"}},
    )
    assert status == 409
    assert body["error"]["code"] == "CONVERSATION_EXISTS"
    assert conversation.public_id in body["error"]["message"]
    status, body = api.post(
        "/conversations",
        {"channelId": channel.public_id, "contactId": conversation.contact.public_id},
    )
    assert (status, body["error"]["code"]) == (409, "CONVERSATION_EXISTS")
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contact": {"phone": "+5511977776666"}}, "channelId"),
        ({"channelId": "CH"}, "contactId"),
        ({"channelId": "CH", "contactId": "contact_x", "contact": {"phone": "+1"}}, "contactId"),
        ({"channelId": "CH", "contact": {"phone": "11 97777-6666"}}, "contact.phone"),
        ({"channelId": "CH", "contact": {"name": "No address"}}, "contact.phone"),
        ({"channelId": "CH", "contact": {"email": "a@b.test"}}, "contact.phone"),
        ({"channelId": "CH", "contact": {"phone": "+5511977776666", "fax": "1"}}, "contact.fax"),
        ({"channelId": "CH", "contact": {"email": "not-an-email"}}, "contact.email"),
        ({"channelId": "CH", "contact": {"phone": "+5511977776666"}, "tags": "vip"}, "tags"),
        ({"channelId": "CH", "contact": {"phone": "+5511977776666"}, "metadata": []}, "metadata"),
        ({"channelId": "CH", "contact": {"phone": "+5511977776666"}, "priority": "x"}, "priority"),
        (
            {"channelId": "CH", "contact": {"phone": "+5511977776666"}, "assigneeId": "user_x"},
            "assigneeId",
        ),
        (
            {"channelId": "CH", "contact": {"phone": "+5511977776666"}, "assigneeId": "me"},
            "assigneeId",
        ),
    ],
)
def test_create_bad_input_is_400_naming_the_field(api, channel, body, field):
    if body.get("channelId") == "CH":
        body = {**body, "channelId": channel.public_id}
    before = _snapshot()
    status, answer = api.post("/conversations", body)
    assert status == 400, answer
    assert _error(answer) == ("VALIDATION_ERROR", field)
    assert _snapshot() == before


def test_create_with_an_agent_of_another_workspace_writes_nothing(api, channel, stranger):
    before = _snapshot()
    status, body = api.post(
        "/conversations",
        {
            "channelId": channel.public_id,
            "contact": {"phone": "+5511977776666"},
            "assigneeId": stranger.public_id,
        },
    )
    assert (status, _error(body)) == (400, ("VALIDATION_ERROR", "assigneeId"))
    assert _snapshot() == before


def test_create_unknown_channel_or_contact_is_404(api, channel):
    status, body = api.post(
        "/conversations", {"channelId": "ch_nope", "contact": {"phone": "+5511977776666"}}
    )
    assert (status, body["error"]["code"]) == (404, "CHANNEL_NOT_FOUND")
    status, body = api.post(
        "/conversations", {"channelId": channel.public_id, "contactId": "contact_nope"}
    )
    assert (status, body["error"]["code"]) == (404, "CONTACT_NOT_FOUND")


def test_create_assigns_me_with_an_agent_token(workspace, channel, agent):
    client = agent_client(workspace, agent)
    status, body = client.post(
        "/conversations",
        {
            "channelId": channel.public_id,
            "contact": {"phone": "+5511977776666"},
            "assigneeId": "me",
        },
    )
    assert status == 201, body
    assert body["data"]["attributes"]["assignee"]["id"] == agent.public_id
    assert Conversation.objects.get(public_id=body["data"]["id"]).assigned_by == agent


def test_create_replays_with_an_idempotency_key(api, channel):
    data = {"channelId": channel.public_id, "contact": {"phone": "+5511977776666"}}
    first = api.post("/conversations", data, HTTP_IDEMPOTENCY_KEY="conv-1")
    again = api.post("/conversations", data, HTTP_IDEMPOTENCY_KEY="conv-1")
    assert first[0] == again[0] == 201
    assert first[1]["data"] == again[1]["data"]
    assert Conversation.objects.count() == 1


# --- PATCH --------------------------------------------------------------------


def test_patch_merges_metadata_replaces_tags_and_sets_priority(api, conversation):
    path = f"/conversations/{conversation.public_id}"
    api.patch(path, {"metadata": {"a": 1}, "tags": ["x"]})
    status, body = api.patch(path, {"metadata": {"b": 2}, "tags": ["y", "z"], "priority": "high"})
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["metadata"] == {"a": 1, "b": 2}
    assert attrs["tags"] == ["y", "z"]
    assert attrs["priority"] == "high"
    assert OutboxEvent.objects.filter(event="conversation.updated").count() == 2


def test_patch_status_transitions(api, conversation, agent):
    path = f"/conversations/{conversation.public_id}"
    until = _later(hours=2)
    status, body = api.patch(path, {"status": "snoozed", "snoozedUntil": until})
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["status"] == "snoozed" and attrs["snoozedUntil"]
    # `open` on a snoozed conversation wakes it.
    attrs = api.patch(path, {"status": "open"})[1]["data"]["attributes"]
    assert attrs["status"] == "open" and "snoozedUntil" not in attrs
    assert api.patch(path, {"status": "pending"})[1]["data"]["attributes"]["status"] == "pending"
    # snoozedUntil alone snoozes.
    assert api.patch(path, {"snoozedUntil": until})[1]["data"]["attributes"]["status"] == "snoozed"
    assert api.patch(path, {"status": "pending"})[1]["data"]["attributes"]["status"] == "pending"
    attrs = api.patch(path, {"status": "closed"})[1]["data"]["attributes"]
    assert attrs["status"] == "closed" and attrs["resolution"] == "resolved"
    # Closing a closed conversation is a no-op for PATCH (it states the wanted status).
    assert api.patch(path, {"status": "closed"})[0] == 200
    attrs = api.patch(path, {"status": "open"})[1]["data"]["attributes"]
    assert attrs["status"] == "open" and attrs["reopenedAt"] and "closedAt" not in attrs


def test_patch_refusals_change_nothing(api, conversation):
    path = f"/conversations/{conversation.public_id}"
    close_conversation(conversation=conversation)
    before = _snapshot()
    # Pending is not a way to reopen; the priority in the same request is not applied.
    status, body = api.patch(path, {"status": "pending", "priority": "urgent"})
    assert (status, body["error"]["code"]) == (409, "INVALID_STATE")
    status, body = api.patch(path, {"status": "snoozed", "snoozedUntil": _later(hours=1)})
    assert (status, body["error"]["code"]) == (409, "INVALID_STATE")
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"status": "archived"}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"status": "snoozed", "priority": "high"}, "snoozedUntil"),
        ({"status": "open", "snoozedUntil": "2099-01-01T00:00:00Z"}, "snoozedUntil"),
        ({"snoozedUntil": "2001-01-01T00:00:00Z"}, "snoozedUntil"),
        ({"snoozedUntil": "tomorrow"}, "snoozedUntil"),
        ({"tags": [1, 2]}, "tags.0"),
        ({"tags": "vip"}, "tags"),
        ({"metadata": "x"}, "metadata"),
        ({"channelId": "ch_x"}, "channelId"),
    ],
)
def test_patch_bad_input_is_400_naming_the_field(api, conversation, body, field):
    before = _snapshot()
    status, answer = api.patch(f"/conversations/{conversation.public_id}", body)
    assert status == 400, answer
    assert _error(answer) == ("VALIDATION_ERROR", field)
    assert _snapshot() == before


def test_malformed_json_is_400(api, conversation):
    status, body = api.patch(f"/conversations/{conversation.public_id}", "{not json")
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")


# --- Close and reopen ---------------------------------------------------------


def test_close_with_an_agent_token_records_who(workspace, conversation, agent):
    client = agent_client(workspace, agent)
    path = f"/conversations/{conversation.public_id}"
    status, body = client.post(
        f"{path}/close", {"reason": "bot traffic", "resolution": "spam", "notes": "blocked"}
    )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["status"] == "closed" and attrs["closedAt"].endswith("Z")
    assert attrs["closedBy"] == {"id": agent.public_id, "type": "user", "name": agent.name}
    assert (attrs["resolution"], attrs["closureReason"]) == ("spam", "bot traffic")
    conversation.refresh_from_db()
    assert conversation.closure_notes == "blocked"
    status, body = client.post(f"{path}/close", {})
    assert (status, body["error"]["code"]) == (409, "INVALID_STATE")


def test_close_with_an_api_key_has_no_closer(api, conversation):
    status, body = api.post(f"/conversations/{conversation.public_id}/close")
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["resolution"] == "resolved" and "closedBy" not in attrs


@pytest.mark.parametrize(
    ("body", "field"),
    [({"resolution": "done"}, "resolution"), ({"reason": "x" * 501}, "reason"), ({"x": 1}, "x")],
)
def test_close_bad_input(api, conversation, body, field):
    before = _snapshot()
    status, answer = api.post(f"/conversations/{conversation.public_id}/close", body)
    assert (status, _error(answer)) == (400, ("VALIDATION_ERROR", field))
    assert _snapshot() == before


def test_reopen(workspace, conversation, agent):
    client = agent_client(workspace, agent)
    path = f"/conversations/{conversation.public_id}"
    status, body = client.post(f"{path}/reopen")
    assert (status, body["error"]["code"]) == (409, "INVALID_STATE")
    close_conversation(conversation=conversation)
    status, body = client.post(f"{path}/reopen")
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["status"] == "open" and attrs["reopenedAt"]
    assert "closedAt" not in attrs and "resolution" not in attrs
    conversation.refresh_from_db()
    assert conversation.reopened_by == agent
    assert client.post(f"{path}/reopen", {"force": True})[0] == 400


def test_reopen_refuses_when_the_contact_has_another_open_thread(api, channel, conversation):
    close_conversation(conversation=conversation)
    api.post(
        "/conversations",
        {"channelId": channel.public_id, "contactId": conversation.contact.public_id},
    )
    status, body = api.post(f"/conversations/{conversation.public_id}/reopen")
    assert (status, body["error"]["code"]) == (409, "CONVERSATION_EXISTS")


# --- Assign -------------------------------------------------------------------


def test_assign_and_unassign(api, workspace, conversation, agent, admin_user):
    path = f"/conversations/{conversation.public_id}/assign"
    status, body = agent_client(workspace, admin_user, "admin").post(
        path, {"assigneeId": agent.public_id, "note": "yours"}
    )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["assignee"] == {"id": agent.public_id, "type": "user", "name": agent.name}
    assert attrs["assignedAt"]
    conversation.refresh_from_db()
    assert conversation.assigned_by == admin_user
    event = OutboxEvent.objects.get(event="conversation.assigned")
    assert event.data["meta"] == {"by": admin_user.public_id, "note": "yours"}
    status, body = api.post(path, {"assigneeId": None})
    assert status == 200
    assert body["data"]["attributes"]["assignee"] is None
    assert "assignedAt" not in body["data"]["attributes"]


def test_assign_to_me(workspace, conversation, agent):
    status, body = agent_client(workspace, agent).post(
        f"/conversations/{conversation.public_id}/assign", {"assigneeId": "me"}
    )
    assert status == 200, body
    assert body["data"]["attributes"]["assignee"]["id"] == agent.public_id


@pytest.mark.parametrize("who", ["stranger", "unknown", "me", "missing", "number"])
def test_assign_refuses_anyone_but_an_agent_of_the_workspace(api, conversation, stranger, who):
    body = {
        "stranger": {"assigneeId": stranger.public_id},
        "unknown": {"assigneeId": "user_nobody"},
        "me": {"assigneeId": "me"},  # an API key has no "me"
        "missing": {"note": "no assignee"},
        "number": {"assigneeId": ["user_x"]},
    }[who]
    before = _snapshot()
    status, answer = api.post(f"/conversations/{conversation.public_id}/assign", body)
    assert (status, _error(answer)) == (400, ("VALIDATION_ERROR", "assigneeId"))
    assert _snapshot() == before


# --- Transfer -----------------------------------------------------------------


@pytest.fixture
def helper(workspace):
    user, _ = create_agent(workspace=workspace, email="helper@acme.test", display_name="Hal")
    return user


def test_transfer_keeps_the_summary_private_and_notifies_the_contact(
    workspace, conversation, agent, helper, django_capture_on_commit_callbacks
):
    client = agent_client(workspace, agent)
    client.post(f"/conversations/{conversation.public_id}/assign", {"assigneeId": "me"})
    with django_capture_on_commit_callbacks(execute=True):
        status, body = client.post(
            f"/conversations/{conversation.public_id}/transfer",
            {
                "toAssigneeId": helper.public_id,
                "reason": "billing question",
                "summary": "Wants a refund for order 12345.",
                "notifyContact": True,
            },
        )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["assignee"]["id"] == helper.public_id
    assert attrs["messageCount"] == 3
    note, notice = conversation.messages.order_by("created_at", "id")[1:]
    assert note.is_private and note.text == "Wants a refund for order 12345."
    assert note.sender_user == agent
    assert not notice.is_private and notice.sender_type == "system"
    assert notice.to_address == "+5511999999999" and "Hal" in notice.text
    notice.refresh_from_db()
    assert notice.status == "sent"  # delivered through the normal send path
    assert attrs["lastMessage"]["id"] == notice.public_id
    event = OutboxEvent.objects.get(event="conversation.transferred")
    assert event.data["attributes"]["assigneeId"] == helper.public_id
    assert event.data["meta"] == {
        "by": agent.public_id,
        "fromAssigneeId": agent.public_id,
        "toAssigneeId": helper.public_id,
        "reason": "billing question",
    }


def test_transfer_without_summary_or_notice_sends_nothing(api, conversation, helper):
    status, body = api.post(
        f"/conversations/{conversation.public_id}/transfer", {"toAssigneeId": helper.public_id}
    )
    assert status == 200, body
    assert conversation.messages.count() == 1
    assert OutboxEvent.objects.filter(event="conversation.transferred").count() == 1


def test_transfer_is_all_or_nothing_when_the_notice_cannot_be_sent(
    api, conversation, channel, helper
):
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.INACTIVE)
    before = _snapshot()
    status, body = api.post(
        f"/conversations/{conversation.public_id}/transfer",
        {"toAssigneeId": helper.public_id, "summary": "context", "notifyContact": True},
    )
    assert (status, body["error"]["code"]) == (422, "CHANNEL_NOT_CONNECTED")
    assert _snapshot() == before


def test_transfer_refusals(api, conversation, helper, stranger):
    path = f"/conversations/{conversation.public_id}/transfer"
    before = _snapshot()
    for data, field in (
        ({"toAssigneeId": stranger.public_id}, "toAssigneeId"),
        ({"toAssigneeId": "me"}, "toAssigneeId"),
        ({"reason": "no target"}, "toAssigneeId"),
        ({"toAssigneeId": helper.public_id, "notifyContact": "perhaps"}, "notifyContact"),
    ):
        status, body = api.post(path, data)
        assert (status, _error(body)) == (400, ("VALIDATION_ERROR", field)), data
    assert _snapshot() == before
    api.post(path, {"toAssigneeId": helper.public_id})
    status, body = api.post(path, {"toAssigneeId": helper.public_id})
    assert (status, _error(body)) == (400, ("VALIDATION_ERROR", "toAssigneeId"))
    close_conversation(conversation=conversation)
    status, body = api.post(path, {"toAssigneeId": helper.public_id})
    assert (status, body["error"]["code"]) == (409, "INVALID_STATE")


def test_a_contact_writing_back_after_a_transfer_lands_in_the_same_thread(
    api, channel, conversation, helper
):
    api.post(
        f"/conversations/{conversation.public_id}/transfer", {"toAssigneeId": helper.public_id}
    )
    reply = receive_message(
        channel=channel, sender="+5511999999999", content={"type": "text", "text": "ok"}
    ).message
    assert reply.conversation_id == conversation.pk
