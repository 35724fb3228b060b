"""WhatsApp Cloud API sends, against a local stand-in for graph.facebook.com.

Each test sends through the real pipeline (`send_message` then
`deliver_message`), so the request the stand-in receives is the one a
customer's message would produce, and the outcome is read off the Message:
the request's headers and reply context, Meta's errors (permanent or
retried), and the 24-hour window. Each content type's body is in
test_whatsapp_content.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.errors import OutsideMessageWindow
from messaging.models import Message
from messaging.services import send_message
from tests.channels_app.providers.whatsapp_support import (
    ACCESS_TOKEN,
    CUSTOMER,
    MESSAGES_PATH,
    answer_sends,
    customer_wrote,
    graph_error,
    last_json,
    send_and_attempt,
    send_and_deliver,
    whatsapp_channel,
    window_open_channel,
)

pytestmark = pytest.mark.django_db

TO = f"+{CUSTOMER}"
ENVELOPE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER}


@pytest.fixture
def channel(provider_channel, httpserver):
    return window_open_channel(provider_channel, httpserver)


def test_the_request_carries_the_bearer_token_as_json(channel, httpserver):
    answer_sends(httpserver)
    send_and_deliver(channel, {"type": "text", "text": "Hello"})

    request, _ = httpserver.log[-1]
    assert request.method == "POST"
    assert request.path == MESSAGES_PATH
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"


def test_a_reply_quotes_the_message_with_context(channel, httpserver):
    answer_sends(httpserver)
    earlier = Message.objects.get(provider_message_id="wamid.customer-hi")
    send_and_deliver(channel, {"type": "text", "text": "Sure!"}, reply_to=earlier)

    assert last_json(httpserver)["context"] == {"message_id": "wamid.customer-hi"}


def test_content_whatsapp_cannot_express_fails_without_a_call(channel, httpserver):
    content = {
        "type": "buttons",
        "text": "Choose",
        "buttons": [
            {"type": "reply", "id": "a", "title": "A"},
            {"type": "url", "title": "Site", "url": "https://shop.example"},
        ],
    }
    message = send_and_deliver(channel, content)

    assert httpserver.log == []
    assert message.status == "failed"
    assert message.failure_code == "UNSUPPORTED_CONTENT"


# --- Errors ------------------------------------------------------------------------


def test_an_undeliverable_number_fails_with_metas_code_and_reason(channel, httpserver):
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        graph_error(131026, "(#131026) Message undeliverable", "Message Undeliverable."),
        status=400,
    )
    message = send_and_deliver(channel, {"type": "text", "text": "Hello"})

    assert message.status == "failed"
    assert message.failure_code == "131026"
    assert message.failure_reason == "(#131026) Message undeliverable (Message Undeliverable.)"
    assert [h["status"] for h in message.status_history] == ["pending", "failed"]


def test_outside_the_customer_service_window_meta_refusal_is_permanent(channel, httpserver):
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        graph_error(
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the "
            "customer last replied to this number.",
        ),
        status=400,
    )
    message = send_and_deliver(channel, {"type": "text", "text": "Hello"})

    assert message.status == "failed"
    assert message.failure_code == "131047"
    assert message.next_attempt_at is None


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        pytest.param(429, {"Retry-After": "120"}, 120.0, id="http-429-with-retry-after"),
        pytest.param(400, {}, None, id="http-400-code-130429"),
    ],
)
def test_throttling_is_retried_later(channel, httpserver, status, headers, retry_after):
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        graph_error(130429, "(#130429) Rate limit hit", "Cloud API message throughput reached."),
        status=status,
        headers=headers,
    )
    before = timezone.now()
    message, result = send_and_attempt(channel, {"type": "text", "text": "Hi"})

    assert result.retryable and result.error_code == "130429"
    assert result.retry_after_seconds == retry_after
    assert message.status == "pending"
    assert message.failure_code == "130429"
    assert message.next_attempt_at is not None
    if retry_after:
        expected = before + timedelta(seconds=retry_after)
        assert abs((message.next_attempt_at - expected).total_seconds()) < 5


def test_a_server_error_is_retried(channel, httpserver):
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_data(
        "Service Unavailable", status=503
    )
    message, result = send_and_attempt(channel, {"type": "text", "text": "Hi"})

    assert result.retryable
    assert message.status == "pending"
    assert message.failure_code == "HTTP_503"
    assert message.next_attempt_at is not None
    assert message.delivery_claimed_at is None


def test_an_unreachable_api_is_retried(provider_channel, httpserver):
    channel = whatsapp_channel(provider_channel, httpserver, apiBaseUrl="http://127.0.0.1:9/v21.0")
    customer_wrote(channel)
    message, result = send_and_attempt(channel, {"type": "text", "text": "Hi"})

    assert result.retryable
    assert message.status == "pending"
    assert message.failure_code == "PROVIDER_UNREACHABLE"


# --- The 24-hour window ------------------------------------------------------------


def test_outside_the_window_only_a_template_goes_out(provider_channel, httpserver):
    channel = whatsapp_channel(provider_channel, httpserver)
    customer_wrote(
        channel, provider_message_id="wamid.old", received_at=timezone.now() - timedelta(hours=25)
    )
    answer_sends(httpserver, "wamid.template-1")

    with pytest.raises(OutsideMessageWindow) as refused:
        send_message(
            workspace=channel.workspace,
            channel=channel,
            to=TO,
            content={"type": "text", "text": "Still there?"},
        )
    assert refused.value.code == "OUTSIDE_MESSAGE_WINDOW"
    assert httpserver.log == []

    message = send_and_deliver(
        channel, {"type": "template", "template": {"name": "follow_up", "language": "en"}}
    )
    assert message.status == "sent"
    assert last_json(httpserver) == {
        **ENVELOPE,
        "type": "template",
        "template": {"name": "follow_up", "language": {"code": "en"}},
    }
