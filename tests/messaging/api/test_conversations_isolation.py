"""Workspace isolation of the Conversations API, and its OpenAPI description.

A key of workspace B gets 404 for every conversation id of A on every
endpoint, changes nothing of A, and never sees A's rows in its lists.
"""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from messaging.models import Contact, Conversation, Message, OutboxEvent
from messaging.services import send_message
from tests.messaging.api.test_conversations_helpers import agent_client


@pytest.fixture
def a_rows(workspace, conversation, agent):
    send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "Only workspace A may see this"},
        sender_user=agent,
    )
    return {"conversation": conversation, "agent": agent}


def _snapshot():
    return (
        list(Conversation.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        list(Message.objects.order_by("pk").values()),
        OutboxEvent.objects.count(),
    )


def _endpoints(conv: str, b_agent: str):
    path = f"/conversations/{conv}"
    return [
        ("get", path, None),
        ("get", path, {"includeMessages": "true"}),
        ("patch", path, {"priority": "urgent", "status": "closed"}),
        ("post", f"{path}/close", {"resolution": "spam"}),
        ("post", f"{path}/reopen", None),
        ("post", f"{path}/assign", {"assigneeId": b_agent}),
        ("post", f"{path}/assign", {"assigneeId": None}),
        (
            "post",
            f"{path}/transfer",
            {"toAssigneeId": b_agent, "summary": "x", "notifyContact": True},
        ),
        ("get", f"{path}/participants", None),
    ]


def test_every_conversation_id_of_a_is_404_for_b(stranger_api, a_rows, stranger):
    conv = a_rows["conversation"].public_id
    before = _snapshot()
    for method, path, data in _endpoints(conv, stranger.public_id):
        status, body = getattr(stranger_api, method)(path, data)
        assert (status, body["error"]["code"]) == (404, "CONVERSATION_NOT_FOUND"), (path, body)
    assert _snapshot() == before


def test_an_agent_of_b_gets_the_same_404(other_workspace, a_rows, stranger):
    client = agent_client(other_workspace, stranger)
    conv = a_rows["conversation"].public_id
    for method, path, data in _endpoints(conv, "me"):
        status, body = getattr(client, method)(path, data)
        assert (status, body["error"]["code"]) == (404, "CONVERSATION_NOT_FOUND"), path


def test_foreign_and_missing_ids_answer_alike(stranger_api, a_rows):
    foreign = stranger_api.get(f"/conversations/{a_rows['conversation'].public_id}")[1]
    missing = stranger_api.get("/conversations/conv_doesnotexist0000000000")[1]
    assert foreign["error"]["code"] == missing["error"]["code"] == "CONVERSATION_NOT_FOUND"
    assert foreign["error"]["message"].replace(a_rows["conversation"].public_id, "X") == missing[
        "error"
    ]["message"].replace("conv_doesnotexist0000000000", "X")


def test_b_lists_never_show_a_rows(stranger_api, a_rows):
    conversation = a_rows["conversation"]
    status, body = stranger_api.get("/conversations")
    assert status == 200 and body["data"] == []
    assert body["meta"]["pagination"]["totalCount"] == 0
    for params in (
        {"channelId": conversation.channel.public_id},
        {"contactId": conversation.contact.public_id},
        {"assigneeId": a_rows["agent"].public_id},
        {"assigneeId": "none"},
        {"search": "workspace A"},
        {"search": "Ana"},
        {"search": "+5511999999999"},
        {"channelType": "whatsapp"},
        {"status": "open"},
    ):
        assert stranger_api.get("/conversations", params)[1]["data"] == [], params


def test_b_cannot_start_a_conversation_with_a_channel_or_contact_of_a(
    stranger_api, other_workspace, make_channel, a_rows
):
    b_channel = make_channel(other_workspace)
    conversation = a_rows["conversation"]
    before = _snapshot()
    status, body = stranger_api.post(
        "/conversations",
        {"channelId": conversation.channel.public_id, "contact": {"phone": "+5511977776666"}},
    )
    assert (status, body["error"]["code"]) == (404, "CHANNEL_NOT_FOUND")
    status, body = stranger_api.post(
        "/conversations",
        {"channelId": b_channel.public_id, "contactId": conversation.contact.public_id},
    )
    assert (status, body["error"]["code"]) == (404, "CONTACT_NOT_FOUND")
    assert _snapshot() == before


def test_b_cannot_assign_its_conversations_to_an_agent_of_a(
    stranger_api, other_workspace, make_channel, a_rows
):
    b_channel = make_channel(other_workspace)
    status, body = stranger_api.post(
        "/conversations", {"channelId": b_channel.public_id, "contact": {"phone": "+14155550000"}}
    )
    assert status == 201, body
    path = f"/conversations/{body['data']['id']}"
    agent_of_a = a_rows["agent"].public_id
    status, body = stranger_api.post(f"{path}/assign", {"assigneeId": agent_of_a})
    assert (status, body["error"]["details"][0]["field"]) == (400, "assigneeId")
    status, body = stranger_api.post(f"{path}/transfer", {"toAssigneeId": agent_of_a})
    assert (status, body["error"]["details"][0]["field"]) == (400, "toAssigneeId")
    # Participants of B's conversation never list A's people.
    ids = {p["id"] for p in stranger_api.get(f"{path}/participants")[1]["data"]}
    assert agent_of_a not in ids


# --- OpenAPI --------------------------------------------------------------------

EXPECTED = {
    "/api/v1/conversations": {"get", "post"},
    "/api/v1/conversations/{conversation_id}": {"get", "patch"},
    "/api/v1/conversations/{conversation_id}/close": {"post"},
    "/api/v1/conversations/{conversation_id}/reopen": {"post"},
    "/api/v1/conversations/{conversation_id}/assign": {"post"},
    "/api/v1/conversations/{conversation_id}/transfer": {"post"},
    "/api/v1/conversations/{conversation_id}/participants": {"get"},
    "/api/v1/conversations/{conversation_id}/messages": {"get"},
}


def test_every_conversation_endpoint_is_documented(tmp_path, db):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    for path, methods in EXPECTED.items():
        assert methods <= set(schema["paths"].get(path, {})), path
    for path in EXPECTED:
        for method, operation in schema["paths"][path].items():
            assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)
            if "{conversation_id}" in path:
                assert "CONVERSATION_NOT_FOUND" in yaml.safe_dump(operation["responses"])
    listing = schema["paths"]["/api/v1/conversations"]["get"]
    documented = {p["name"] for p in listing["parameters"]}
    assert documented >= {
        "status",
        "channelId",
        "channelType",
        "assigneeId",
        "contactId",
        "startDate",
        "endDate",
        "search",
        "tag",
        "priority",
        "sortBy",
        "sortOrder",
        "page",
        "perPage",
    }
    create = yaml.safe_dump(schema["paths"]["/api/v1/conversations"]["post"])
    assert "CONVERSATION_EXISTS" in create and "CHANNEL_NOT_FOUND" in create
    patch = yaml.safe_dump(schema["paths"]["/api/v1/conversations/{conversation_id}"]["patch"])
    assert "INVALID_STATE" in patch
    transfer = yaml.safe_dump(
        schema["paths"]["/api/v1/conversations/{conversation_id}/transfer"]["post"]
    )
    assert "CHANNEL_NOT_CONNECTED" in transfer
    components = schema["components"]["schemas"]
    attributes = components["ConversationAttributes"]["properties"]
    assert {"lastMessage", "snoozedUntil", "closedBy", "closureReason"} <= set(attributes)
    assert components["ConversationAttributesStatusEnum"]["enum"] == [
        "open",
        "pending",
        "snoozed",
        "closed",
    ]
