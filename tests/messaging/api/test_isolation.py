"""Workspace isolation: a key of workspace B sees nothing of workspace A, on every endpoint."""

from __future__ import annotations

import pytest

from messaging.models import Message
from messaging.services import send_message

A_TEXT = {"type": "text", "text": "Only workspace A may see this"}


@pytest.fixture
def a_rows(workspace, conversation, agent):
    inbound = conversation.messages.get()
    outbound = send_message(workspace=workspace, conversation=conversation, content=A_TEXT)
    return {"conversation": conversation, "inbound": inbound, "outbound": outbound}


def _endpoints(rows):
    msg = rows["outbound"].public_id
    conv = rows["conversation"].public_id
    channel = rows["conversation"].channel.public_id
    return [
        ("get", f"/messages/{msg}", None),
        ("patch", f"/messages/{msg}", {"content": {"type": "text", "text": "hijack"}}),
        ("delete", f"/messages/{msg}", None),
        ("post", f"/messages/{msg}/read", None),
        ("get", f"/messages/{msg}/reactions", None),
        ("post", f"/messages/{msg}/reactions", {"type": "like", "operation": "add"}),
        ("get", f"/conversations/{conv}/messages", None),
        ("post", "/messages/bulk-read", {"conversationId": conv}),
        ("post", "/messages", {"conversationId": conv, "content": A_TEXT}),
        ("post", "/messages", {"channelId": channel, "to": "+5511999999999", "content": A_TEXT}),
        ("post", "/messages", {"channelId": "ch_x", "conversationId": conv, "content": A_TEXT}),
    ]


def test_every_id_of_a_is_404_for_b(stranger_api, a_rows):
    before = list(Message.objects.order_by("pk").values())
    for method, path, data in _endpoints(a_rows):
        status, body = getattr(stranger_api, method)(path, data)
        assert status == 404, (method, path, status, body)
        assert body["error"]["code"].endswith("NOT_FOUND"), (method, path, body)
    # Nothing of A changed.
    assert list(Message.objects.order_by("pk").values()) == before


def test_b_gets_the_same_answer_for_a_foreign_id_as_for_a_missing_one(stranger_api, a_rows):
    foreign = stranger_api.get(f"/messages/{a_rows['outbound'].public_id}")[1]["error"]
    missing = stranger_api.get("/messages/msg_doesnotexist000000000000")[1]["error"]
    assert foreign["code"] == missing["code"] == "MESSAGE_NOT_FOUND"


def test_lists_never_show_a_rows(stranger_api, a_rows):
    status, body = stranger_api.get("/messages")
    assert status == 200 and body["data"] == []
    assert body["meta"]["pagination"]["totalCount"] == 0
    for params in (
        {"conversationId": a_rows["conversation"].public_id},
        {"channelId": a_rows["conversation"].channel.public_id},
        {"search": "workspace A"},
    ):
        assert stranger_api.get("/messages", params)[1]["data"] == []


def test_bulk_read_by_ids_does_not_touch_a(stranger_api, a_rows):
    status, body = stranger_api.post(
        "/messages/bulk-read", {"messageIds": [a_rows["inbound"].public_id]}
    )
    assert (status, body["data"]["markedCount"]) == (200, 0)
    a_rows["inbound"].refresh_from_db()
    assert a_rows["inbound"].read_at is None
