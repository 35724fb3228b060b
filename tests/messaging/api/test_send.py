"""POST /messages: the seed's examples and every error code of its table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Conversation, Message
from tests.messaging.test_content import SEED_EXAMPLES


def _send(api, **body):
    return api.post("/messages", body)


def test_the_seed_example_request_answers_the_documented_shape(
    api, workspace, make_channel, django_capture_on_commit_callbacks
):
    sms = make_channel(workspace, "sms", config={"phoneNumber": "+5511888888888"})
    with django_capture_on_commit_callbacks(execute=True):
        status, body = _send(
            api,
            channelId=sms.public_id,
            to="+5511999999999",
            content={"type": "text", "text": "Hello! Your order #12345 has been shipped."},
            metadata={"orderId": "12345", "notificationType": "shipping"},
        )
    assert status == 201
    data = body["data"]
    assert data["id"].startswith("msg_") and data["type"] == "message"
    attrs = data["attributes"]
    assert attrs["conversationId"].startswith("conv_")
    assert attrs["channelId"] == sms.public_id
    assert (attrs["direction"], attrs["from"], attrs["to"]) == (
        "outbound",
        "+5511888888888",
        "+5511999999999",
    )
    assert attrs["content"] == {
        "type": "text",
        "text": "Hello! Your order #12345 has been shipped.",
    }
    assert attrs["metadata"] == {"orderId": "12345", "notificationType": "shipping"}
    assert attrs["status"] == "pending"  # the request returns before delivery
    assert attrs["createdAt"].endswith("Z")
    assert body["meta"]["requestId"]
    # Delivery ran after commit: the stored message is sent, with its history.
    status, body = api.get(f"/messages/{data['id']}")
    attrs = body["data"]["attributes"]
    assert attrs["status"] == "sent" and attrs["externalId"] and attrs["sentAt"].endswith("Z")
    assert [h["status"] for h in attrs["statusHistory"]] == ["pending", "sent"]
    assert attrs["channelType"] == "sms"


@pytest.mark.parametrize("content", SEED_EXAMPLES, ids=lambda c: c["type"])
def test_every_seed_content_type_is_accepted_on_whatsapp(api, conversation, content):
    status, body = _send(api, conversationId=conversation.public_id, content=content)
    assert status == 201, body
    assert body["data"]["attributes"]["content"] == content


def test_validation_error_for_an_unknown_type(api, conversation):
    status, body = _send(api, conversationId=conversation.public_id, content={"type": "sticker"})
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "content.type"


def test_validation_error_for_a_missing_recipient(api, channel):
    status, body = _send(api, channelId=channel.public_id, content={"type": "text", "text": "x"})
    assert (status, body["error"]["details"][0]["field"]) == (400, "to")


def test_invalid_recipient(api, channel):
    status, body = _send(api, channelId=channel.public_id, to="5511", content=SEED_EXAMPLES[0])
    assert (status, body["error"]["code"]) == (400, "INVALID_RECIPIENT")


def test_unsupported_content_type(api, workspace, make_channel):
    sms = make_channel(workspace, "sms")
    content = {"type": "location", "latitude": 1, "longitude": 2}
    status, body = _send(api, channelId=sms.public_id, to="+14155552671", content=content)
    assert (status, body["error"]["code"]) == (400, "UNSUPPORTED_CONTENT_TYPE")


def test_channel_not_found(api, db):
    status, body = _send(api, channelId="ch_nope", to="+14155552671", content=SEED_EXAMPLES[0])
    assert (status, body["error"]["code"]) == (404, "CHANNEL_NOT_FOUND")


def test_conversation_not_found(api, db):
    status, body = _send(api, conversationId="conv_nope", content=SEED_EXAMPLES[0])
    assert (status, body["error"]["code"]) == (404, "CONVERSATION_NOT_FOUND")


def test_channel_not_connected(api, workspace, make_channel):
    sms = make_channel(workspace, "sms", status="inactive")
    status, body = _send(api, channelId=sms.public_id, to="+14155552671", content=SEED_EXAMPLES[0])
    assert (status, body["error"]["code"]) == (422, "CHANNEL_NOT_CONNECTED")


def test_outside_message_window(api, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(hours=25)
    )
    status, body = _send(api, conversationId=conversation.public_id, content=SEED_EXAMPLES[0])
    assert (status, body["error"]["code"]) == (422, "OUTSIDE_MESSAGE_WINDOW")
    template = SEED_EXAMPLES[-1]
    assert _send(api, conversationId=conversation.public_id, content=template)[0] == 201


def test_rate_limit_exceeded_on_send(api, conversation, settings):
    settings.API_RATE_LIMIT = 1
    assert _send(api, conversationId=conversation.public_id, content=SEED_EXAMPLES[0])[0] == 201
    status, body = _send(api, conversationId=conversation.public_id, content=SEED_EXAMPLES[0])
    assert (status, body["error"]["code"]) == (429, "RATE_LIMIT_EXCEEDED")
    assert Message.objects.filter(direction="outbound").count() == 1


def test_scheduled_in_the_past_is_400_and_in_the_future_stays_pending(api, conversation):
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    status, body = _send(
        api, conversationId=conversation.public_id, content=SEED_EXAMPLES[0], scheduledAt=past
    )
    assert (status, body["error"]["details"][0]["field"]) == (400, "scheduledAt")
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    status, body = _send(
        api, conversationId=conversation.public_id, content=SEED_EXAMPLES[0], scheduledAt=future
    )
    assert status == 201
    assert body["data"]["attributes"]["status"] == "pending"
    assert body["data"]["attributes"]["scheduledAt"].endswith("Z")


def test_to_without_conversation_finds_the_open_conversation(api, conversation, channel):
    status, body = _send(
        api, channelId=channel.public_id, to="+5511999999999", content=SEED_EXAMPLES[0]
    )
    assert status == 201
    assert body["data"]["attributes"]["conversationId"] == conversation.public_id


def test_a_private_note_and_a_reply(api, conversation):
    inbound = conversation.messages.get()
    status, body = _send(
        api,
        conversationId=conversation.public_id,
        content={"type": "text", "text": "note"},
        isPrivate=True,
        replyToId=inbound.public_id,
    )
    assert status == 201
    attrs = body["data"]["attributes"]
    assert attrs["isPrivate"] is True and attrs["replyToId"] == inbound.public_id
