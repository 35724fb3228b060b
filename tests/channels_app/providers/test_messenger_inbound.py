"""Messenger webhooks posted to the channel's endpoint, signed as Meta signs them.

Bodies follow the Messenger Platform webhook reference (`object: page`,
`entry[].messaging[]`); the signature is `X-Hub-Signature-256`, the app
secret's HMAC-SHA256 of the raw body. Attachment URLs point at a local
server standing in for Meta's CDN.
"""

from __future__ import annotations

import json
import time

import pytest

from channels_app.providers.meta.webhooks import signature
from messaging.models import Attachment, Contact, Message, Reaction
from messaging.services import receive_message, send_message, update_message_status
from tests.messaging.api.test_media import PDF, PNG

PAGE_ID = "104729318847302"
PSID = "6048203991876423"
SECRET = "app-secret"


@pytest.fixture
def messenger(provider_channel, httpserver):
    return provider_channel(
        "messenger",
        {
            "pageId": PAGE_ID,
            "accessToken": "EAAGm0PX4ZCpsBAPageToken",
            "appSecret": SECRET,
            "verifyToken": "verify-me",
            "apiBaseUrl": httpserver.url_for("/v21.0"),
        },
    )


def now_ms() -> int:
    return int(time.time() * 1000) - 5000


def notification(*events: dict, page_id: str = PAGE_ID) -> dict:
    return {
        "object": "page",
        "entry": [{"id": page_id, "time": now_ms(), "messaging": list(events)}],
    }


def from_customer(**event) -> dict:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(), **event}


@pytest.fixture
def deliver_webhook(messenger, post_webhook, django_capture_on_commit_callbacks):
    """POST a signed notification; tasks queued on commit (media fetches) run."""

    def post(payload: dict, *, secret: str = SECRET):
        body = json.dumps(payload).encode()
        headers = {"X-Hub-Signature-256": signature(secret, body)}
        with django_capture_on_commit_callbacks(execute=True):
            return post_webhook(messenger, body, headers=headers)

    return post


def test_a_text_message_is_received(deliver_webhook):
    sent_at = now_ms()
    payload = notification(
        from_customer(timestamp=sent_at, message={"mid": "m_AG5Hz2Uq7tuwNEhXfYYKj8", "text": "hi"})
    )
    response = deliver_webhook(payload)

    assert response.status_code == 200
    message = Message.objects.get(provider_message_id="m_AG5Hz2Uq7tuwNEhXfYYKj8")
    assert message.direction == "inbound"
    assert message.content == {"type": "text", "text": "hi"}
    assert message.from_address == PSID
    assert int(message.created_at.timestamp() * 1000) == sent_at
    assert message.conversation.contact.identifiers.filter(value=PSID).exists()


def test_five_deliveries_of_one_webhook_make_one_message(deliver_webhook):
    payload = notification(from_customer(message={"mid": "m_retry", "text": "again?"}))
    for _ in range(5):
        assert deliver_webhook(payload).status_code == 200
    assert Message.objects.filter(provider_message_id="m_retry").count() == 1


@pytest.mark.parametrize("header", [None, "sha256=" + "0" * 64, "wrong-secret"])
def test_a_bad_signature_is_401_and_records_nothing(messenger, post_webhook, header):
    body = json.dumps(notification(from_customer(message={"mid": "m_forged", "text": "x"})))
    headers = {}
    if header == "wrong-secret":
        headers["X-Hub-Signature-256"] = signature("not-the-secret", body.encode())
    elif header:
        headers["X-Hub-Signature-256"] = header
    response = post_webhook(messenger, body.encode(), headers=headers)
    assert response.status_code == 401
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_the_handshake_echoes_the_challenge_only_for_our_token(messenger, get_webhook):
    good = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    ok = get_webhook(messenger, good)
    assert ok.status_code == 200
    assert ok.content == b"1158201444"
    bad = get_webhook(messenger, {**good, "hub.verify_token": "guess"})
    assert bad.status_code == 403


def test_a_signed_body_that_is_not_json_is_400(messenger, post_webhook):
    body = b"not json"
    headers = {"X-Hub-Signature-256": signature(SECRET, body)}
    assert post_webhook(messenger, body, headers=headers).status_code == 400


def test_an_image_is_fetched_from_the_cdn_and_stored(deliver_webhook, httpserver):
    # Meta's CDN links redirect; the download follows.
    httpserver.expect_request("/cdn/redirect").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/cdn/t39/photo.png")}
    )
    httpserver.expect_request("/cdn/t39/photo.png").respond_with_data(PNG, content_type="image/png")
    url = httpserver.url_for("/cdn/redirect")
    attachment = {"type": "image", "payload": {"url": url}}
    deliver_webhook(
        notification(
            from_customer(
                message={"mid": "m_img", "text": "my receipt", "attachments": [attachment]}
            )
        )
    )

    message = Message.objects.get(provider_message_id="m_img")
    stored = Attachment.objects.get(message=message)
    assert stored.mime_type == "image/png"
    assert stored.size == len(PNG)
    assert message.content["type"] == "image"
    assert message.content["caption"] == "my receipt"
    assert message.content["url"].endswith(stored.file.url)


def test_a_file_becomes_a_document_named_as_on_the_cdn(deliver_webhook, httpserver):
    httpserver.expect_request("/cdn/invoice-2024.pdf").respond_with_data(
        PDF, content_type="application/pdf"
    )
    attachment = {"type": "file", "payload": {"url": httpserver.url_for("/cdn/invoice-2024.pdf")}}
    deliver_webhook(
        notification(from_customer(message={"mid": "m_file", "attachments": [attachment]}))
    )
    message = Message.objects.get(provider_message_id="m_file")
    assert message.content["type"] == "document"
    assert message.content["filename"] == "invoice-2024.pdf"
    assert Attachment.objects.get(message=message).mime_type == "application/pdf"


def test_an_expired_cdn_link_is_noted_on_the_message(deliver_webhook, httpserver):
    httpserver.expect_request("/cdn/gone.mp4").respond_with_data("Not Found", status=404)
    attachment = {"type": "video", "payload": {"url": httpserver.url_for("/cdn/gone.mp4")}}
    deliver_webhook(
        notification(from_customer(message={"mid": "m_video", "attachments": [attachment]}))
    )
    message = Message.objects.get(provider_message_id="m_video")
    assert message.content["type"] == "video"
    assert not Attachment.objects.filter(message=message).exists()
    assert "HTTP 404" in message.metadata["mediaErrors"][0]


def test_a_shared_location_is_a_location(deliver_webhook):
    location = {
        "type": "location",
        "title": "Pinned Location",
        "payload": {"coordinates": {"lat": -23.5505, "long": -46.6333}},
    }
    deliver_webhook(
        notification(from_customer(message={"mid": "m_loc", "attachments": [location]}))
    )
    message = Message.objects.get(provider_message_id="m_loc")
    assert message.content == {
        "type": "location",
        "latitude": -23.5505,
        "longitude": -46.6333,
        "name": "Pinned Location",
    }


def test_a_quick_reply_keeps_its_payload(deliver_webhook):
    deliver_webhook(
        notification(
            from_customer(
                message={"mid": "m_qr", "text": "Large", "quick_reply": {"payload": "size_l"}}
            )
        )
    )
    message = Message.objects.get(provider_message_id="m_qr")
    assert message.content == {"type": "text", "text": "Large"}
    assert message.metadata["quickReply"] == {"payload": "size_l"}


def test_a_postback_is_the_button_title_with_its_payload(deliver_webhook):
    deliver_webhook(
        notification(
            from_customer(postback={"mid": "m_pb", "title": "Track it", "payload": "track"})
        )
    )
    message = Message.objects.get(provider_message_id="m_pb")
    assert message.content == {"type": "text", "text": "Track it"}
    assert message.metadata["postback"] == {"title": "Track it", "payload": "track"}


def test_a_reply_points_at_the_message_it_quotes(deliver_webhook, messenger):
    earlier = receive_message(
        channel=messenger,
        sender=PSID,
        content={"type": "text", "text": "first"},
        provider_message_id="m_first",
    ).message
    deliver_webhook(
        notification(
            from_customer(
                message={"mid": "m_reply", "text": "this", "reply_to": {"mid": "m_first"}}
            )
        )
    )
    assert Message.objects.get(provider_message_id="m_reply").reply_to_id == earlier.pk


def test_reactions_are_added_replaced_and_removed(deliver_webhook, messenger):
    target = receive_message(
        channel=messenger,
        sender=PSID,
        content={"type": "text", "text": "Thanks"},
        provider_message_id="m_target",
    ).message

    def reaction(action: str, emoji: str = "", name: str = "") -> dict:
        body = {"action": action, "mid": "m_target"}
        if emoji:
            body.update(emoji=emoji, reaction=name)
        return from_customer(reaction=body)

    live = Reaction.objects.filter(message=target, removed_at__isnull=True)
    deliver_webhook(notification(reaction("react", "😊", "smile")))
    assert list(live.values_list("emoji", "actor_type")) == [("😊", "contact")]
    deliver_webhook(notification(reaction("react", "❤️", "love")))
    assert list(live.values_list("emoji", flat=True)) == ["❤️"]
    deliver_webhook(notification(reaction("unreact")))
    assert not live.exists()


@pytest.fixture
def sent(workspace, messenger, httpserver, django_capture_on_commit_callbacks):
    """A message the page sent (through the stand-in Send API) as m_out_1."""
    receive_message(
        channel=messenger,
        sender=PSID,
        content={"type": "text", "text": "hello?"},
        provider_message_id="m_in",
    )
    httpserver.expect_request(f"/v21.0/{PAGE_ID}/messages", method="POST").respond_with_json(
        {"recipient_id": PSID, "message_id": "m_out_1"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = send_message(
            workspace=workspace, channel=messenger, to=PSID, content={"type": "text", "text": "Hi"}
        )
    message.refresh_from_db()
    assert message.status == "sent"
    return message


def test_a_delivery_receipt_marks_the_message_delivered(deliver_webhook, sent):
    watermark = int(time.time() * 1000)  # after the send
    deliver_webhook(
        notification(from_customer(delivery={"mids": ["m_out_1"], "watermark": watermark}))
    )
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert int(sent.delivered_at.timestamp() * 1000) == watermark
    assert [h["status"] for h in sent.status_history] == ["pending", "sent", "delivered"]


def test_a_late_delivery_receipt_does_not_move_a_read_message_back(deliver_webhook, sent):
    update_message_status(message=sent, status="read")
    deliver_webhook(
        notification(from_customer(delivery={"mids": ["m_out_1"], "watermark": now_ms()}))
    )
    sent.refresh_from_db()
    assert sent.status == "read"
    assert [h["status"] for h in sent.status_history][-1] == "read"


def test_echoes_of_our_own_sends_are_ignored(deliver_webhook):
    echo = {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": PSID},
        "timestamp": now_ms(),
        "message": {"mid": "m_echo", "is_echo": True, "app_id": 1517776481860111, "text": "Hi"},
    }
    assert deliver_webhook(notification(echo)).status_code == 200
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        notification(from_customer(optin={"type": "notification_messages", "payload": "x"})),
        notification(from_customer(message={"mid": "m_other_page", "text": "hi"}), page_id="999"),
        {"object": "user", "entry": [{"id": "1", "time": 1, "changes": []}]},
        {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "changes": [{"field": "feed"}]}]},
    ],
    ids=["optin", "another-page", "another-object", "feed-change"],
)
def test_unknown_events_are_acknowledged_not_recorded(deliver_webhook, payload):
    response = deliver_webhook(payload)
    assert response.status_code == 200
    assert not Message.objects.exists()
