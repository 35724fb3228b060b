"""What an integrator POSTs to an API channel's webhook URL, end to end.

Bodies are signed as the docs tell integrators to (`X-Inbox-Timestamp`, and
`X-Inbox-Signature` = sha256 HMAC of "{timestamp}.{body}" with the channel's
`callbackSecret`) and posted to the channel's real webhook path; the tests
look at what the services recorded.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from channels_app.providers.base import SendResult
from messaging.models import Contact, Message, Reaction
from messaging.services import receive_message
from messaging.services.messages import record_delivery_result
from messaging.webhooks.signing import compute_signature

SECRET = "cb-secret-for-tests"
FROM = "crm-contact-42"


@pytest.fixture
def api_channel(provider_channel):
    return provider_channel(
        "api", {"callbackUrl": "https://crm.example.com/hooks", "callbackSecret": SECRET}
    )


def _signed(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Inbox-Timestamp": str(timestamp),
        "X-Inbox-Signature": compute_signature(secret, timestamp, body),
    }


@pytest.fixture
def post_event(post_webhook, api_channel):
    """POST `payload` signed, as the integrator would; answers the response."""

    def post(payload, *, channel=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return post_webhook(channel or api_channel, body, headers=_signed(body))

    return post


def _message(**overrides) -> dict:
    return {
        "type": "message",
        "id": "crm-in-1",
        "from": FROM,
        "name": "Ana Souza",
        "content": {"type": "text", "text": "Where is my order?"},
        "timestamp": "2025-03-01T10:15:00Z",
        **overrides,
    }


def _our_sent_message(workspace, channel, provider_id: str) -> Message:
    """An outbound message the integrator accepted as `provider_id`."""
    from messaging.services import send_message

    message = send_message(
        workspace=workspace, channel=channel, to=FROM, content={"type": "text", "text": "Hi"}
    )
    return record_delivery_result(message_pk=message.pk, result=SendResult.sent(provider_id))


# --- Messages ------------------------------------------------------------------------


def test_a_signed_message_is_received(api_channel, post_event):
    response = post_event(_message())
    assert response.status_code == 200
    assert response.json() == {"received": True}
    [message] = Message.objects.filter(channel=api_channel)
    assert message.direction == "inbound"
    assert message.provider_message_id == "crm-in-1"
    assert message.from_address == FROM
    assert message.content == {"type": "text", "text": "Where is my order?"}
    assert message.status == "delivered"
    assert message.created_at == datetime(2025, 3, 1, 10, 15, tzinfo=UTC)
    assert message.conversation.contact.name == "Ana Souza"


@pytest.mark.parametrize(
    "content",
    [
        {"type": "image", "url": "https://files.example.com/p.jpg", "caption": "Broken box"},
        {"type": "video", "url": "https://files.example.com/v.mp4"},
        {"type": "audio", "url": "https://files.example.com/a.ogg"},
        {"type": "document", "url": "https://files.example.com/i.pdf", "filename": "i.pdf"},
        {"type": "location", "latitude": 38.72, "longitude": -9.14, "address": "Rua Augusta"},
        {
            "type": "buttons",
            "text": "Menu",
            "buttons": [{"type": "reply", "id": "a", "title": "A"}],
        },
    ],
    ids=lambda c: c["type"],
)
def test_every_content_type_is_received_as_sent(api_channel, post_event, content):
    assert post_event(_message(content=content)).status_code == 200
    [message] = Message.objects.filter(channel=api_channel)
    # Media stay at the integrator's URL: nothing is downloaded.
    assert message.content == content
    assert message.content_type == content["type"]
    assert not message.attachments.exists()


def test_unix_timestamps_are_accepted(api_channel, post_event):
    assert post_event(_message(timestamp=1740824100)).status_code == 200
    message = Message.objects.get(channel=api_channel)
    assert message.created_at == datetime(2025, 3, 1, 10, 15, tzinfo=UTC)


def test_reply_to_id_links_the_answered_message(workspace, api_channel, post_event):
    ours = _our_sent_message(workspace, api_channel, "crm-out-1")
    assert post_event(_message(replyToId="crm-out-1")).status_code == 200
    received = Message.objects.get(provider_message_id="crm-in-1")
    assert received.reply_to_id == ours.pk


def test_the_same_message_five_times_is_one_message(api_channel, post_event):
    for _ in range(5):
        assert post_event(_message()).status_code == 200
    assert Message.objects.filter(channel=api_channel).count() == 1
    assert Message.objects.get(channel=api_channel).conversation.message_count == 1


# --- Statuses and reactions ---------------------------------------------------------


def test_statuses_move_our_message_forward(workspace, api_channel, post_event):
    ours = _our_sent_message(workspace, api_channel, "crm-out-1")
    for status, at in (("delivered", "2030-01-01T10:00:01Z"), ("read", 1893492062)):
        payload = {"type": "status", "messageId": "crm-out-1", "status": status, "timestamp": at}
        assert post_event(payload).status_code == 200
    ours.refresh_from_db()
    assert ours.status == "read"
    assert ours.delivered_at == datetime(2030, 1, 1, 10, 0, 1, tzinfo=UTC)
    assert ours.read_at == datetime(2030, 1, 1, 10, 1, 2, tzinfo=UTC)
    assert [h["status"] for h in ours.status_history] == ["pending", "sent", "delivered", "read"]


def test_a_failed_status_carries_the_integrators_code(workspace, api_channel, post_event):
    ours = _our_sent_message(workspace, api_channel, "crm-out-1")
    payload = {
        "type": "status",
        "messageId": "crm-out-1",
        "status": "failed",
        "errorCode": "BLOCKED",
        "errorMessage": "The customer blocked us",
    }
    assert post_event(payload).status_code == 200
    ours.refresh_from_db()
    assert (ours.status, ours.failure_code, ours.failure_reason) == (
        "failed",
        "BLOCKED",
        "The customer blocked us",
    )


def test_a_reaction_is_added_and_an_empty_one_removes_it(workspace, api_channel, post_event):
    ours = _our_sent_message(workspace, api_channel, "crm-out-1")
    reaction = {"type": "reaction", "messageId": "crm-out-1", "from": FROM, "emoji": "👍"}
    assert post_event(reaction).status_code == 200
    [live] = Reaction.objects.filter(message=ours, removed_at__isnull=True)
    assert live.emoji == "👍"
    assert live.actor_contact == Contact.objects.get(workspace=workspace)
    assert post_event({**reaction, "emoji": ""}).status_code == 200
    assert not Reaction.objects.filter(message=ours, removed_at__isnull=True).exists()


def test_a_batch_applies_every_event_in_order(workspace, api_channel, post_event):
    ours = _our_sent_message(workspace, api_channel, "crm-out-1")
    batch = {
        "events": [
            _message(id="crm-in-1"),
            _message(id="crm-in-2", content={"type": "text", "text": "Hello?"}),
            {"type": "status", "messageId": "crm-out-1", "status": "delivered"},
            {"type": "reaction", "messageId": "crm-out-1", "from": FROM, "emoji": "❤️"},
            {"type": "typing", "from": FROM},
        ]
    }
    assert post_event(batch).status_code == 200
    texts = Message.objects.filter(channel=api_channel, direction="inbound").values_list(
        "text", flat=True
    )
    assert sorted(texts) == ["Hello?", "Where is my order?"]
    ours.refresh_from_db()
    assert ours.status == "delivered"
    assert Reaction.objects.get(message=ours).emoji == "❤️"


def test_an_unknown_event_type_is_acknowledged(api_channel, post_event):
    response = post_event({"type": "conversation.closed", "id": "c-1"})
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert not Message.objects.exists()


# --- Refusals ------------------------------------------------------------------------


def _assert_refused(response) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_a_wrong_signature_is_401_and_records_nothing(api_channel, post_webhook):
    body = json.dumps(_message()).encode()
    _assert_refused(post_webhook(api_channel, body, headers=_signed(body, secret="guess")))


def test_a_tampered_body_is_401(api_channel, post_webhook):
    body = json.dumps(_message()).encode()
    headers = _signed(body)
    tampered = body.replace(b"Where is my order?", b"Refund me 1000 now")
    _assert_refused(post_webhook(api_channel, tampered, headers=headers))


def test_a_missing_signature_is_401(api_channel, post_webhook):
    body = json.dumps(_message()).encode()
    headers = {"X-Inbox-Timestamp": str(int(time.time()))}
    _assert_refused(post_webhook(api_channel, body, headers=headers))
    _assert_refused(post_webhook(api_channel, body))


def test_a_stale_timestamp_is_401(api_channel, post_webhook):
    body = json.dumps(_message()).encode()
    old = int(time.time()) - 301
    _assert_refused(post_webhook(api_channel, body, headers=_signed(body, timestamp=old)))


def test_a_channel_without_a_secret_accepts_nothing(provider_channel, post_webhook):
    channel = provider_channel("api", {"callbackUrl": "https://crm.example.com/hooks"})
    body = json.dumps(_message()).encode()
    _assert_refused(post_webhook(channel, body, headers=_signed(body, secret="")))


# --- Bad payloads --------------------------------------------------------------------


def test_invalid_content_is_400_with_the_field_named(api_channel, post_event):
    response = post_event(_message(content={"type": "image", "url": "not a url"}))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_PAYLOAD"
    assert error["message"] == "content.url: Must be an http(s) URL."
    assert not Message.objects.exists()


def test_one_bad_event_refuses_the_whole_batch(api_channel, post_event):
    batch = {"events": [_message(), _message(id="crm-in-2", content={"type": "sticker"})]}
    response = post_event(batch)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("events[1].content.type:")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "The body is not valid JSON."),
        ([1, 2], "body: Must be a JSON object."),
        ({"id": "x"}, "type: This field is required."),
        (_message(id=None), "id: This field is required."),
        (_message(**{"from": ""}), "from: Must not be blank."),
        (_message(timestamp="yesterday"), "timestamp: Must be an ISO-8601 date-time or Unix"),
        ({"type": "status", "messageId": "m", "status": "seen"}, "status: Must be one of"),
        ({"events": []}, "events: Must be a non-empty list."),
    ],
    ids=["json", "array", "type", "id", "from", "timestamp", "status", "events"],
)
def test_malformed_bodies_are_400_with_a_clear_message(api_channel, post_event, payload, message):
    response = post_event(payload)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)
    assert not Message.objects.exists()


def test_a_message_from_a_known_contact_joins_their_conversation(
    workspace, api_channel, post_event
):
    first = receive_message(
        channel=api_channel,
        sender=FROM,
        content={"type": "text", "text": "Hi"},
        provider_message_id="crm-in-0",
    ).message
    assert post_event(_message()).status_code == 200
    second = Message.objects.get(provider_message_id="crm-in-1")
    assert second.conversation_id == first.conversation_id
