"""Sending SMS/MMS through a local server that plays Twilio's Messages API.

Each test sends through the real delivery path (`send_message`, then the
delivery task or `deliver_message`) and checks the exact form Twilio
received, and what the message became from Twilio's documented answers.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from urllib.parse import parse_qsl

import pytest
from django.utils import timezone

from messaging.services import deliver_message, send_message
from tests.channels_app.providers.sms_support import (
    CUSTOMER,
    MESSAGES_PATH,
    OUR_NUMBER,
    SID,
    basic_auth,
    created,
    twilio_channel,
    twilio_error,
)

pytestmark = pytest.mark.django_db

SERVICE_SID = "MG" + "b2" * 16


@pytest.fixture
def sms_channel(provider_channel, httpserver):
    """Make an SMS channel on the stand-in; keyword arguments override its config."""
    return partial(twilio_channel, provider_channel, httpserver)


@pytest.fixture
def deliver(send_on_commit):
    """Send `content` to the customer on `channel`; the delivery task runs on commit."""

    def send(channel, content):
        return send_on_commit(content, channel=channel, to=CUSTOMER)

    return send


def received_form(httpserver, index: int = 0) -> list[tuple[str, str]]:
    request = httpserver.log[index][0]
    return parse_qsl(request.get_data(as_text=True), keep_blank_values=True)


def test_text_is_posted_as_twilios_form_with_basic_auth(
    deliver, sms_channel, httpserver, webhook_url
):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(created(), status=201)

    message = deliver(channel, {"type": "text", "text": "Your order shipped"})

    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == basic_auth()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received_form(httpserver) == [
        ("To", CUSTOMER),
        ("From", OUR_NUMBER),
        ("Body", "Your order shipped"),
        ("StatusCallback", webhook_url(channel)),
    ]
    assert message.status == "sent"
    assert message.provider_message_id == SID
    assert [h["status"] for h in message.status_history] == ["pending", "sent"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {"type": "image", "url": "https://cdn.example.com/p.jpg", "caption": "Your receipt"},
            [("Body", "Your receipt"), ("MediaUrl", "https://cdn.example.com/p.jpg")],
        ),
        (
            {"type": "video", "url": "https://cdn.example.com/v.mp4", "caption": "How to"},
            [("Body", "How to"), ("MediaUrl", "https://cdn.example.com/v.mp4")],
        ),
        (
            {"type": "audio", "url": "https://cdn.example.com/a.mp3"},
            [("MediaUrl", "https://cdn.example.com/a.mp3")],
        ),
        (
            {"type": "document", "url": "https://cdn.example.com/i.pdf", "filename": "i.pdf"},
            [("MediaUrl", "https://cdn.example.com/i.pdf")],
        ),
        (
            {"type": "image", "url": "https://cdn.example.com/q.png"},
            [("MediaUrl", "https://cdn.example.com/q.png")],
        ),
    ],
)
def test_media_goes_as_mms_with_the_caption_as_body(
    deliver, sms_channel, httpserver, webhook_url, content, expected
):
    channel = sms_channel()
    sid = "MM" + "d4" * 16
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(sid, num_media="1"), status=201
    )

    message = deliver(channel, content)

    assert received_form(httpserver) == [
        ("To", CUSTOMER),
        ("From", OUR_NUMBER),
        *expected,
        ("StatusCallback", webhook_url(channel)),
    ]
    assert message.status == "sent" and message.provider_message_id == sid


def test_a_messaging_service_sends_instead_of_the_number(
    deliver, sms_channel, httpserver, webhook_url
):
    channel = sms_channel(messagingServiceSid=SERVICE_SID)
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(status="accepted", messaging_service_sid=SERVICE_SID), status=201
    )

    message = deliver(channel, {"type": "text", "text": "Hi"})

    assert received_form(httpserver) == [
        ("To", CUSTOMER),
        ("MessagingServiceSid", SERVICE_SID),
        ("Body", "Hi"),
        ("StatusCallback", webhook_url(channel)),
    ]
    assert message.status == "sent" and message.provider_message_id == SID


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [
        (400, 21211, "Invalid 'To' Phone Number: +14155552671"),
        (400, 21610, "Attempt to send to unsubscribed recipient"),
        (400, 21614, "'To' number is not a valid mobile number"),
        (401, 20003, "Authenticate"),
    ],
)
def test_a_4xx_fails_the_message_with_twilios_code_and_message(
    deliver, sms_channel, httpserver, status, code, text
):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        twilio_error(code, text, status), status=status
    )

    message = deliver(channel, {"type": "text", "text": "Hi"})

    assert len(httpserver.log) == 1  # never retried
    assert message.status == "failed"
    assert message.failure_code == str(code)
    assert message.failure_reason == text
    assert message.provider_message_id is None


def test_a_message_created_already_failed_is_failed(deliver, sms_channel, httpserver):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(status="failed", error_code=30007, error_message=None), status=201
    )

    message = deliver(channel, {"type": "text", "text": "Hi"})

    assert message.status == "failed"
    assert message.failure_code == "30007"
    assert "filtered" in message.failure_reason


def test_429_is_retried_after_twilios_retry_after(workspace, sms_channel, httpserver):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        twilio_error(20429, "Too Many Requests", 429), status=429, headers={"Retry-After": "7"}
    )
    message = send_message(
        workspace=workspace, channel=channel, to=CUSTOMER, content={"type": "text", "text": "Hi"}
    )

    before = timezone.now()
    result = deliver_message(message_pk=message.pk)

    assert result.retryable and result.retry_after_seconds == 7
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.failure_code == "20429"
    assert message.failure_reason == "Too Many Requests"
    assert message.delivery_claimed_at is None  # free for the retry
    assert (
        before + timedelta(seconds=6)
        <= message.next_attempt_at
        <= timezone.now() + timedelta(seconds=8)
    )


def test_5xx_is_retried_with_backoff_then_sent(workspace, sms_channel, httpserver):
    channel = sms_channel()
    httpserver.expect_ordered_request(MESSAGES_PATH, method="POST").respond_with_data(
        "Service Unavailable", status=503
    )
    httpserver.expect_ordered_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(), status=201
    )
    message = send_message(
        workspace=workspace, channel=channel, to=CUSTOMER, content={"type": "text", "text": "Hi"}
    )

    first = deliver_message(message_pk=message.pk)
    message.refresh_from_db()
    assert first.retryable and first.retry_after_seconds is None
    assert message.status == "pending" and message.failure_code == "HTTP_503"
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)

    second = deliver_message(message_pk=message.pk)
    message.refresh_from_db()
    assert second.ok and message.status == "sent" and message.provider_message_id == SID
    assert [h["status"] for h in message.status_history] == ["pending", "sent"]


def test_an_unreachable_twilio_is_retried(workspace, sms_channel):
    # Nothing listens on port 9 (discard) here.
    channel = sms_channel(apiBaseUrl="http://127.0.0.1:9")
    message = send_message(
        workspace=workspace, channel=channel, to=CUSTOMER, content={"type": "text", "text": "Hi"}
    )

    result = deliver_message(message_pk=message.pk)

    assert result.retryable and result.error_code == "PROVIDER_UNREACHABLE"
    message.refresh_from_db()
    assert message.status == "pending"
