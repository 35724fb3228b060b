"""Messenger's watermark receipts: `read` (and `delivery` without `mids`) name a time, not ids.

"All messages that were sent before or at this timestamp were read"
(message_reads webhook reference); a `delivery` whose `mids` are missing
means the same for delivery (message_deliveries reference). The stand-in
Send API stamps each message with its own clock while our request is in
flight, as Meta does, and the customer's receipts carry those stamps as the
watermark. Everything is posted, signed, to the channel's webhook URL.
"""

from __future__ import annotations

import json
import time

import pytest
from werkzeug import Request, Response

from channels_app.providers.base import Ignored
from channels_app.providers.meta.messaging_webhooks import parse_messaging_webhook
from channels_app.providers.meta.webhooks import signature
from messaging.models import Contact, Message, OutboxEvent
from messaging.services import receive_message, send_message
from tests.channels_app.providers.test_messenger_inbound import (
    PAGE_ID,
    PSID,
    SECRET,
    from_customer,
    notification,
)

OTHER_PSID = "7011394825563018"
OTHER_PAGE_ID = "209384756120394"


class StandInSendApi:
    """Meta's Send API: a new mid per message, stamped (ms) while the request is handled."""

    def __init__(self) -> None:
        self.stamps: dict[str, int] = {}

    def __call__(self, request: Request) -> Response:
        time.sleep(0.005)  # our claim is older than the stamp...
        mid = f"m_out_{len(self.stamps) + 1}"
        self.stamps[mid] = int(time.time() * 1000)
        time.sleep(0.005)  # ...and our `sent_at` newer: the answer takes time
        recipient = json.loads(request.get_data())["recipient"]["id"]
        body = json.dumps({"recipient_id": recipient, "message_id": mid})
        return Response(body, content_type="application/json")


def page_config(httpserver, page_id: str) -> dict:
    return {
        "pageId": page_id,
        "accessToken": "EAAGm0PX4ZCpsBAPageToken",
        "appSecret": SECRET,
        "verifyToken": "verify-me",
        "apiBaseUrl": httpserver.url_for("/v21.0"),
    }


@pytest.fixture
def send_api(httpserver):
    api = StandInSendApi()
    for page in (PAGE_ID, OTHER_PAGE_ID):
        httpserver.expect_request(f"/v21.0/{page}/messages", method="POST").respond_with_handler(
            api
        )
    return api


@pytest.fixture
def messenger(provider_channel, httpserver):
    return provider_channel("messenger", page_config(httpserver, PAGE_ID))


@pytest.fixture
def other_page(provider_channel, httpserver):
    return provider_channel("messenger", page_config(httpserver, OTHER_PAGE_ID), name="Other page")


@pytest.fixture
def send(workspace, send_api, django_capture_on_commit_callbacks):
    """Send a text through the stand-in (delivered at once, Celery being eager)."""

    def go(channel, to: str, text: str) -> Message:
        receive_message(
            channel=channel,
            sender=to,
            content={"type": "text", "text": "hello?"},
            provider_message_id=f"m_in_{channel.pk}_{to}_{text}",
        )
        with django_capture_on_commit_callbacks(execute=True):
            message = send_message(
                workspace=workspace, channel=channel, to=to, content={"type": "text", "text": text}
            )
        message.refresh_from_db()
        assert message.status == "sent"
        return message

    return go


@pytest.fixture
def post(post_webhook, messenger):
    def go(*events: dict):
        body = json.dumps(notification(*events)).encode()
        headers = {"X-Hub-Signature-256": signature(SECRET, body)}
        return post_webhook(messenger, body, headers=headers)

    return go


def now() -> int:
    return int(time.time() * 1000)


def ms(value) -> int:
    return int(value.timestamp() * 1000)


def statuses(message: Message) -> list[str]:
    message.refresh_from_db()
    return [entry["status"] for entry in message.status_history]


def snapshot() -> list[tuple]:
    return list(
        Message.objects.order_by("pk").values_list(
            "pk", "status", "status_history", "delivered_at", "read_at"
        )
    )


def in_order(message: Message) -> bool:
    stamps = [entry["timestamp"] for entry in message.status_history]
    return stamps == sorted(stamps)


def test_a_read_watermark_marks_what_was_sent_up_to_it_and_nothing_else(
    post, send, send_api, messenger, other_page, workspace
):
    # Sent before the watermark too, but not to this person, not on this
    # page, or not sent at all (a private note): none of them was read.
    someone_else = send(messenger, OTHER_PSID, "for someone else")
    elsewhere = send(other_page, PSID, "same person, other page")
    first = send(messenger, PSID, "one")
    note = send_message(
        workspace=workspace,
        conversation=first.conversation,
        content={"type": "text", "text": "note to self"},
        is_private=True,
    )
    post(from_customer(delivery={"mids": [first.provider_message_id], "watermark": now()}))
    second = send(messenger, PSID, "two")
    watermark = send_api.stamps[second.provider_message_id]
    time.sleep(0.005)
    later = send(messenger, PSID, "three")
    inbound = list(Message.objects.filter(direction="inbound").values_list("status", "read_at"))
    read_ms = now()

    response = post(from_customer(timestamp=read_ms, read={"watermark": watermark}))

    assert response.status_code == 200
    assert statuses(first) == ["pending", "sent", "delivered", "read"]
    assert statuses(second) == ["pending", "sent", "read"]
    for message in (first, second):
        assert message.status == "read"
        assert ms(message.read_at) == read_ms
        assert in_order(message)
    # Meta stamped `second` while our send was in flight, before our `sent_at`.
    assert ms(second.sent_at) > watermark
    assert [statuses(m) for m in (later, someone_else, elsewhere)] == [["pending", "sent"]] * 3
    assert note.sent_at < second.sent_at
    assert statuses(note) == ["sent"]
    assert (note.status, note.read_at) == ("sent", None)
    assert (
        list(Message.objects.filter(direction="inbound").values_list("status", "read_at"))
        == inbound
    )
    read_events = OutboxEvent.objects.filter(event="message.read")
    assert sorted(e.data["id"] for e in read_events) == sorted([first.public_id, second.public_id])


def test_a_repeated_read_receipt_changes_nothing(post, send, send_api, messenger):
    ours = send(messenger, PSID, "one")
    receipt = from_customer(read={"watermark": send_api.stamps[ours.provider_message_id]})
    post(receipt)
    before, events = snapshot(), OutboxEvent.objects.count()

    for _ in range(4):
        assert post(receipt).status_code == 200

    assert snapshot() == before
    assert OutboxEvent.objects.count() == events
    assert statuses(ours) == ["pending", "sent", "read"]


def test_a_watermark_older_than_our_messages_changes_nothing(post, send, messenger):
    watermark = now() - 5000
    ours = send(messenger, PSID, "one")
    assert post(from_customer(read={"watermark": watermark})).status_code == 200
    assert statuses(ours) == ["pending", "sent"]


def test_a_receipt_from_an_unknown_sender_is_acknowledged_and_changes_nothing(
    post, send, messenger
):
    ours = send(messenger, PSID, "one")
    before, contacts = snapshot(), Contact.objects.count()
    stranger = {**from_customer(read={"watermark": now()}), "sender": {"id": "5550001112223334"}}

    assert post(stranger).status_code == 200

    assert snapshot() == before
    assert Contact.objects.count() == contacts
    assert statuses(ours) == ["pending", "sent"]


def test_a_delivery_without_mids_marks_what_was_sent_up_to_it_delivered(
    post, send, send_api, messenger
):
    first = send(messenger, PSID, "one")
    post(from_customer(read={"watermark": send_api.stamps[first.provider_message_id]}))
    second = send(messenger, PSID, "two")
    watermark = send_api.stamps[second.provider_message_id]
    time.sleep(0.005)
    later = send(messenger, PSID, "three")
    delivered_ms = now()

    post(from_customer(timestamp=delivered_ms, delivery={"watermark": watermark}))

    assert statuses(first) == ["pending", "sent", "read"]  # never moved back
    assert statuses(second) == ["pending", "sent", "delivered"]
    assert ms(second.delivered_at) == delivered_ms
    assert in_order(second)
    assert statuses(later) == ["pending", "sent"]


def test_instagram_keeps_ignoring_a_read_without_mid():
    body = json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": "17841400000000000",
                    "time": 1,
                    "messaging": [from_customer(read={"watermark": 1718000000000})],
                }
            ],
        }
    ).encode()
    events = parse_messaging_webhook(
        body, webhook_object="instagram", account_id="17841400000000000"
    )
    assert [type(e) for e in events] == [Ignored]
