"""Twilio's status callbacks for a message we sent: order, failures, repeats.

The message is sent through a local server playing Twilio (so it holds the
sid Twilio answered); then the callbacks Twilio would post to the
`StatusCallback` URL are posted, signed, to the channel's webhook.
"""

from __future__ import annotations

import pytest

from messaging.models import EarlyStatusReport, Message
from messaging.services import deliver_message, send_message
from tests.channels_app.providers.sms_support import (
    ACCOUNT_SID,
    CUSTOMER,
    EMPTY_TWIML,
    MESSAGES_PATH,
    OUR_NUMBER,
    SID,
    created,
    post_form,
    twilio_channel,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_channel(provider_channel, httpserver):
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(created(), status=201)
    return twilio_channel(provider_channel, httpserver)


@pytest.fixture
def queued(workspace, sms_channel) -> Message:
    """A message queued for sending, not yet handed to Twilio."""
    return send_message(
        workspace=workspace,
        channel=sms_channel,
        to=CUSTOMER,
        content={"type": "text", "text": "Hi"},
    )


@pytest.fixture
def sent(queued) -> Message:
    result = deliver_message(message_pk=queued.pk)
    assert result.ok and result.provider_message_id == SID
    queued.refresh_from_db()
    return queued


@pytest.fixture
def callback(post_webhook, sms_channel):
    """Post Twilio's status callback for SID, as documented, signed."""

    def post(status: str, **extra: str):
        params = {
            "SmsSid": SID,
            "SmsStatus": status,
            "MessageStatus": status,
            "To": CUSTOMER,
            "MessageSid": SID,
            "AccountSid": ACCOUNT_SID,
            "From": OUR_NUMBER,
            "ApiVersion": "2010-04-01",
            **extra,
        }
        response = post_form(post_webhook, sms_channel, params)
        assert response.status_code == 200
        assert response.content == EMPTY_TWIML
        return response

    return post


def statuses(message: Message) -> list[str]:
    message.refresh_from_db()
    return [entry["status"] for entry in message.status_history]


def test_callbacks_in_order_move_the_message_to_delivered(sent, callback):
    callback("sent")
    callback("delivered", RawDlrDoneDate="2308240501")

    assert statuses(sent) == ["pending", "sent", "delivered"]
    assert sent.status == "delivered"
    assert sent.delivered_at is not None and sent.sent_at <= sent.delivered_at


def test_delivered_before_sent_ends_delivered_with_one_entry_each(sent, callback):
    callback("delivered")
    callback("sent")

    assert statuses(sent) == ["pending", "sent", "delivered"]
    assert sent.status == "delivered"


def test_statuses_before_sent_change_nothing(sent, callback):
    before = sent.updated_at
    for status in ("queued", "accepted", "scheduled", "sending"):
        callback(status)

    assert statuses(sent) == ["pending", "sent"]
    assert sent.status == "sent" and sent.updated_at == before


def test_undelivered_fails_the_message_with_the_code_and_a_readable_reason(sent, callback):
    callback("undelivered", ErrorCode="30003", RawDlrDoneDate="2308240501")

    assert statuses(sent) == ["pending", "sent", "failed"]
    assert sent.status == "failed"
    assert sent.failure_code == "30003"
    assert sent.failure_reason.startswith("Unreachable destination handset")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("30004", "Message blocked"),
        ("30005", "Unknown destination handset"),
        ("30006", "Landline or unreachable carrier"),
        ("30007", "Message filtered"),
        ("30008", "Unknown error"),
        ("30999", "Twilio reported the message failed (error 30999)."),
    ],
)
def test_failed_carries_twilios_error_code(sent, callback, code, reason):
    callback("failed", ErrorCode=code)

    sent.refresh_from_db()
    assert (sent.status, sent.failure_code) == ("failed", code)
    assert sent.failure_reason.startswith(reason)


def test_a_failure_after_delivery_does_not_move_it_back(sent, callback):
    callback("delivered")
    callback("undelivered", ErrorCode="30003")

    sent.refresh_from_db()
    assert sent.status == "delivered" and sent.failure_code == ""


def test_read_is_applied_where_the_channel_reports_it(sent, callback):
    callback("read")

    assert statuses(sent)[-1] == "read"
    assert sent.status == "read"


def test_the_same_callback_five_times_is_applied_once(sent, callback):
    for _ in range(5):
        callback("delivered")

    assert statuses(sent) == ["pending", "sent", "delivered"]


def test_a_callback_before_the_send_answer_is_applied_when_it_lands(queued, callback):
    # Twilio can call back before our worker recorded its 201 answer.
    callback("delivered")
    assert EarlyStatusReport.objects.filter(provider_message_id=SID).count() == 1
    queued.refresh_from_db()
    assert queued.status == "pending"

    assert deliver_message(message_pk=queued.pk).ok

    queued.refresh_from_db()
    assert queued.status == "delivered"
    assert queued.provider_message_id == SID
    assert {"sent", "delivered"} <= set(statuses(queued))
    assert not EarlyStatusReport.objects.exists()


def test_a_callback_for_an_unknown_status_is_acknowledged_and_ignored(sent, callback):
    callback("partially_delivered")

    assert statuses(sent) == ["pending", "sent"]
