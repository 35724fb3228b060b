"""Sending SMS/MMS through a local server that plays Twilio's Messages API.

Each test sends through the real delivery path (`send_message`, then the
delivery task or `deliver_message`) and checks the exact form Twilio
received, and what the message became from Twilio's documented answers.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from django.utils import timezone

from messaging.services import deliver_message, send_message

pytestmark = pytest.mark.django_db

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "twilio-auth-token-1"
FROM = "+14155550100"
TO = "+14155552671"
SERVICE_SID = "MG" + "b2" * 16
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
SID = "SM" + "c3" * 16


def created(sid: str = SID, status: str = "queued", **extra) -> dict:
    """Twilio's 201 answer: the new Message resource."""
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": "",
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": None,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": FROM,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"
        },
        "to": TO,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        **extra,
    }


def twilio_error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.fixture
def sms_channel(provider_channel, httpserver):
    def make(**config):
        return provider_channel(
            "sms",
            {
                "accountSid": ACCOUNT_SID,
                "authToken": AUTH_TOKEN,
                "phoneNumber": FROM,
                "apiBaseUrl": httpserver.url_for("/"),
                **config,
            },
        )

    return make


def deliver(workspace, channel, content, capture):
    with capture(execute=True):
        message = send_message(workspace=workspace, channel=channel, to=TO, content=content)
    message.refresh_from_db()
    return message


def received_form(httpserver, index: int = 0) -> list[tuple[str, str]]:
    request = httpserver.log[index][0]
    return parse_qsl(request.get_data(as_text=True), keep_blank_values=True)


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()


def test_text_is_posted_as_twilios_form_with_basic_auth(
    workspace, sms_channel, httpserver, webhook_url, django_capture_on_commit_callbacks
):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(created(), status=201)

    message = deliver(
        workspace,
        channel,
        {"type": "text", "text": "Your order shipped"},
        django_capture_on_commit_callbacks,
    )

    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == basic_auth()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received_form(httpserver) == [
        ("To", TO),
        ("From", FROM),
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
    workspace,
    sms_channel,
    httpserver,
    webhook_url,
    django_capture_on_commit_callbacks,
    content,
    expected,
):
    channel = sms_channel()
    sid = "MM" + "d4" * 16
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(sid, num_media="1"), status=201
    )

    message = deliver(workspace, channel, content, django_capture_on_commit_callbacks)

    assert received_form(httpserver) == [
        ("To", TO),
        ("From", FROM),
        *expected,
        ("StatusCallback", webhook_url(channel)),
    ]
    assert message.status == "sent" and message.provider_message_id == sid


def test_a_messaging_service_sends_instead_of_the_number(
    workspace, sms_channel, httpserver, webhook_url, django_capture_on_commit_callbacks
):
    channel = sms_channel(messagingServiceSid=SERVICE_SID)
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(status="accepted", messaging_service_sid=SERVICE_SID), status=201
    )

    message = deliver(
        workspace, channel, {"type": "text", "text": "Hi"}, django_capture_on_commit_callbacks
    )

    assert received_form(httpserver) == [
        ("To", TO),
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
    workspace, sms_channel, httpserver, django_capture_on_commit_callbacks, status, code, text
):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        twilio_error(code, text, status), status=status
    )

    message = deliver(
        workspace, channel, {"type": "text", "text": "Hi"}, django_capture_on_commit_callbacks
    )

    assert len(httpserver.log) == 1  # never retried
    assert message.status == "failed"
    assert message.failure_code == str(code)
    assert message.failure_reason == text
    assert message.provider_message_id is None


def test_a_message_created_already_failed_is_failed(
    workspace, sms_channel, httpserver, django_capture_on_commit_callbacks
):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        created(status="failed", error_code=30007, error_message=None), status=201
    )

    message = deliver(
        workspace, channel, {"type": "text", "text": "Hi"}, django_capture_on_commit_callbacks
    )

    assert message.status == "failed"
    assert message.failure_code == "30007"
    assert "filtered" in message.failure_reason


def test_429_is_retried_after_twilios_retry_after(workspace, sms_channel, httpserver):
    channel = sms_channel()
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        twilio_error(20429, "Too Many Requests", 429), status=429, headers={"Retry-After": "7"}
    )
    message = send_message(
        workspace=workspace, channel=channel, to=TO, content={"type": "text", "text": "Hi"}
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
        workspace=workspace, channel=channel, to=TO, content={"type": "text", "text": "Hi"}
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


def test_an_unreachable_twilio_is_retried(workspace, provider_channel):
    channel = provider_channel(
        "sms",
        {
            "accountSid": ACCOUNT_SID,
            "authToken": AUTH_TOKEN,
            "phoneNumber": FROM,
            # Nothing listens on port 9 (discard) here.
            "apiBaseUrl": "http://127.0.0.1:9",
        },
    )
    message = send_message(
        workspace=workspace, channel=channel, to=TO, content={"type": "text", "text": "Hi"}
    )

    result = deliver_message(message_pk=message.pk)

    assert result.retryable and result.error_code == "PROVIDER_UNREACHABLE"
    message.refresh_from_db()
    assert message.status == "pending"
