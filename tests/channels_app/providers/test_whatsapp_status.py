"""WhatsApp status webhooks: sent, delivered, read and failed, in any order."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from inbox.timefmt import iso
from tests.channels_app.providers.whatsapp_support import (
    answer_sends,
    customer_wrote,
    notification,
    post_signed,
    send_and_deliver,
    status,
    whatsapp_channel,
)

pytestmark = pytest.mark.django_db

WAMID = "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


def _at(timestamp: int) -> str:
    return iso(datetime.fromtimestamp(timestamp, tz=UTC))


@pytest.fixture
def sent(provider_channel, httpserver):
    """A message delivered to the stand-in, which answered with WAMID."""
    channel = whatsapp_channel(provider_channel, httpserver)
    customer_wrote(channel)
    answer_sends(httpserver, WAMID)
    message = send_and_deliver(channel, {"type": "text", "text": "On its way"})
    assert message.status == "sent"
    return message


@pytest.fixture
def t0(sent) -> int:
    """WhatsApp's timestamps for the statuses start a moment after the send."""
    return int(sent.sent_at.timestamp()) + 2


def _post_statuses(post_webhook, channel, *statuses):
    response = post_signed(post_webhook, channel, notification(statuses=list(statuses)))
    assert response.status_code == 200
    return response


def test_delivered_then_read_move_the_message_forward(sent, t0, post_webhook):
    _post_statuses(post_webhook, sent.channel, status(WAMID, "sent", t0))
    _post_statuses(post_webhook, sent.channel, status(WAMID, "delivered", t0 + 5))
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert sent.delivered_at == datetime.fromtimestamp(t0 + 5, tz=UTC)

    _post_statuses(post_webhook, sent.channel, status(WAMID, "read", t0 + 60))
    sent.refresh_from_db()
    assert sent.status == "read"
    assert sent.read_at == datetime.fromtimestamp(t0 + 60, tz=UTC)


def test_read_before_delivered_ends_read_with_a_truthful_history(sent, t0, post_webhook):
    _post_statuses(post_webhook, sent.channel, status(WAMID, "read", t0 + 60))
    _post_statuses(post_webhook, sent.channel, status(WAMID, "delivered", t0 + 5))

    sent.refresh_from_db()
    assert sent.status == "read"
    assert sent.delivered_at == datetime.fromtimestamp(t0 + 5, tz=UTC)
    assert sent.read_at == datetime.fromtimestamp(t0 + 60, tz=UTC)
    history = [h for h in sent.status_history if h["status"] in ("delivered", "read")]
    # In the order things happened, whatever order the webhooks came in.
    assert history == [
        {"status": "delivered", "timestamp": _at(t0 + 5)},
        {"status": "read", "timestamp": _at(t0 + 60)},
    ]


def test_statuses_in_one_webhook_and_repeated_ones_change_nothing_twice(sent, t0, post_webhook):
    batch = (status(WAMID, "delivered", t0 + 5), status(WAMID, "read", t0 + 60))
    for _ in range(3):
        _post_statuses(post_webhook, sent.channel, *batch)

    sent.refresh_from_db()
    assert sent.status == "read"
    assert [h["status"] for h in sent.status_history] == ["pending", "sent", "delivered", "read"]


def test_a_failed_status_records_metas_code_and_reason(sent, t0, post_webhook):
    failed = status(
        WAMID,
        "failed",
        t0 + 3,
        errors=[
            {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {
                    "details": "Unable to deliver message. The recipient may be using an "
                    "old WhatsApp version."
                },
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ],
    )
    _post_statuses(post_webhook, sent.channel, failed)

    sent.refresh_from_db()
    assert sent.status == "failed"
    assert sent.failure_code == "131026"
    assert sent.failure_reason == (
        "Message undeliverable — Unable to deliver message. "
        "The recipient may be using an old WhatsApp version."
    )


def test_a_status_for_another_business_number_is_ignored(sent, t0, post_webhook):
    payload = notification(
        statuses=[status(WAMID, "read", t0 + 60)], phone_number_id="999999999999999"
    )
    post_signed(post_webhook, sent.channel, payload)

    sent.refresh_from_db()
    assert sent.status == "sent"


def test_a_status_before_the_send_answer_is_kept_until_the_id_is_known(
    provider_channel, httpserver, post_webhook
):
    channel = whatsapp_channel(provider_channel, httpserver)
    customer_wrote(channel)
    # WhatsApp's `delivered` can overtake its own answer to the send.
    _post_statuses(post_webhook, channel, status(WAMID, "delivered", int(time.time())))
    answer_sends(httpserver, WAMID)
    message = send_and_deliver(channel, {"type": "text", "text": "Fast"})

    assert message.status == "delivered"
