"""Workspace isolation: a key of workspace B sees and changes nothing of A's channels."""

from __future__ import annotations

import pytest

from channels_app.models import Channel
from channels_app.services import create_channel
from inbox.services import create_api_key
from messaging.models import Conversation, OutboxEvent
from tests.messaging.api.conftest import Api

A_CONFIG = {"phoneNumberId": "109876543210", "accessToken": "EAAG-token-of-a"}


@pytest.fixture
def b_api(other_workspace) -> Api:
    return Api(create_api_key(workspace=other_workspace, name="stranger")[1])


@pytest.fixture
def a_channel(conversation) -> Channel:
    """A's channel, with an open conversation, so delete/deactivate have work to do."""
    return conversation.channel


def _endpoints(channel_id: str):
    return [
        ("get", f"/channels/{channel_id}", None),
        ("patch", f"/channels/{channel_id}", {"name": "hijacked"}),
        ("delete", f"/channels/{channel_id}", {"force": "true"}),
        ("post", f"/channels/{channel_id}/test", None),
        ("post", f"/channels/{channel_id}/activate", {"reason": "x"}),
        ("post", f"/channels/{channel_id}/deactivate", {"closeConversations": True}),
        ("get", f"/channels/{channel_id}/stats", None),
    ]


def _snapshot():
    return (
        list(Channel.objects.order_by("pk").values()),
        list(Conversation.objects.order_by("pk").values()),
        OutboxEvent.objects.count(),
    )


def test_every_id_of_a_is_404_for_b(b_api, a_channel):
    before = _snapshot()
    for method, path, data in _endpoints(a_channel.public_id):
        status, body = getattr(b_api, method)(path, data)
        assert status == 404, (method, path, status, body)
        assert body["error"]["code"] == "CHANNEL_NOT_FOUND", (method, path, body)
    assert _snapshot() == before


def test_a_foreign_id_answers_like_a_missing_one(b_api, a_channel):
    for (method, path, data), (_, missing_path, _) in zip(
        _endpoints(a_channel.public_id), _endpoints("ch_doesnotexist00000000000"), strict=True
    ):
        foreign = getattr(b_api, method)(path, data)
        missing = getattr(b_api, method)(missing_path, data)
        assert foreign[0] == missing[0] == 404
        assert foreign[1]["error"]["code"] == missing[1]["error"]["code"]


def test_lists_never_show_a_rows(b_api, a_channel):
    for params in (None, {"type": "whatsapp"}, {"status": "active"}, {"search": "whatsapp"}):
        status, body = b_api.get("/channels", params)
        assert status == 200
        assert body["data"] == []
        assert body["meta"]["pagination"]["totalCount"] == 0


def test_b_may_connect_the_same_number_and_sees_only_its_own(b_api, workspace, other_workspace):
    create_channel(workspace=workspace, type="whatsapp", name="A", config=A_CONFIG)
    status, body = b_api.post(
        "/channels", {"name": "B", "type": "whatsapp", "config": dict(A_CONFIG)}
    )
    assert status == 201, body
    listed = b_api.get("/channels")[1]["data"]
    assert [row["id"] for row in listed] == [body["data"]["id"]]
    assert Channel.objects.get(public_id=body["data"]["id"]).workspace == other_workspace
