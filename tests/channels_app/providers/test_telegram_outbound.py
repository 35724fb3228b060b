"""Telegram outbound: every send method's exact body, keyboards, replies, and failures.

Messages go through `send_message` and the real delivery path (Celery runs
eagerly on commit) to a pytest-httpserver stand-in for the Bot API.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from messaging.services import deliver_message, receive_message, send_message
from tests.channels_app.providers.telegram_outbound_support import TEXT, answer
from tests.channels_app.providers.telegram_support import (
    BOT_TOKEN,
    CHAT_ID,
    error,
    ok,
    requests_to,
    sent_message,
    telegram_channel,
)


@pytest.fixture
def tg(provider_channel, httpserver):
    return telegram_channel(provider_channel, httpserver)


@pytest.fixture
def send(send_on_commit, tg):
    """Send `content` to the customer's chat (or `to=`) and deliver it on commit."""
    return partial(send_on_commit, channel=tg, to=str(CHAT_ID))


# --- Sending each content type ------------------------------------------------------


def test_text_is_sent_with_send_message(httpserver, send):
    answer(httpserver, "sendMessage", ok(sent_message(42, text=TEXT["text"])))
    message = send(TEXT)
    assert requests_to(httpserver, "sendMessage") == [
        {"chat_id": CHAT_ID, "text": "Your order has shipped."}
    ]
    request = httpserver.log[0][0]
    assert request.headers["Content-Type"] == "application/json"
    assert message.status == "sent"
    assert message.provider_message_id == f"{CHAT_ID}:42"


@pytest.mark.parametrize(
    ("content", "method", "expected"),
    [
        (
            {"type": "image", "url": "https://cdn.example.com/p.jpg", "caption": "Your receipt"},
            "sendPhoto",
            {"photo": "https://cdn.example.com/p.jpg", "caption": "Your receipt"},
        ),
        (
            {"type": "image", "url": "https://cdn.example.com/p.jpg"},
            "sendPhoto",
            {"photo": "https://cdn.example.com/p.jpg"},
        ),
        (
            {
                "type": "document",
                "url": "https://cdn.example.com/invoice.pdf",
                "filename": "invoice.pdf",
                "caption": "Invoice #12",
            },
            "sendDocument",
            {"document": "https://cdn.example.com/invoice.pdf", "caption": "Invoice #12"},
        ),
        (
            {"type": "audio", "url": "https://cdn.example.com/hello.mp3"},
            "sendAudio",
            {"audio": "https://cdn.example.com/hello.mp3"},
        ),
        (
            {"type": "video", "url": "https://cdn.example.com/how-to.mp4", "caption": "How to"},
            "sendVideo",
            {"video": "https://cdn.example.com/how-to.mp4", "caption": "How to"},
        ),
        (
            {"type": "location", "latitude": -23.5505, "longitude": -46.6333},
            "sendLocation",
            {"latitude": -23.5505, "longitude": -46.6333},
        ),
        (
            {
                "type": "location",
                "latitude": -23.5614,
                "longitude": -46.6559,
                "name": "Acme Store Paulista",
                "address": "Av. Paulista, 1578, São Paulo",
            },
            "sendVenue",
            {
                "latitude": -23.5614,
                "longitude": -46.6559,
                "title": "Acme Store Paulista",
                "address": "Av. Paulista, 1578, São Paulo",
            },
        ),
    ],
    ids=["photo", "photo-no-caption", "document", "audio", "video", "location", "venue"],
)
def test_each_content_type_uses_its_method(httpserver, send, content, method, expected):
    answer(httpserver, method, ok(sent_message(43)))
    message = send(content)
    assert requests_to(httpserver, method) == [{"chat_id": CHAT_ID, **expected}]
    assert (message.status, message.provider_message_id) == ("sent", f"{CHAT_ID}:43")


def test_buttons_become_an_inline_keyboard(httpserver, send):
    answer(httpserver, "sendMessage", ok(sent_message(44)))
    send(
        {
            "type": "buttons",
            "text": "How was your delivery?",
            "buttons": [
                {"type": "reply", "id": "rate_good", "title": "Great"},
                {"type": "reply", "id": "rate_bad", "title": "Not good"},
                {"type": "url", "title": "Track order", "url": "https://acme.example/t/1"},
            ],
        }
    )
    assert requests_to(httpserver, "sendMessage") == [
        {
            "chat_id": CHAT_ID,
            "text": "How was your delivery?",
            "reply_markup": {
                "inline_keyboard": [
                    [{"text": "Great", "callback_data": "rate_good"}],
                    [{"text": "Not good", "callback_data": "rate_bad"}],
                    [{"text": "Track order", "url": "https://acme.example/t/1"}],
                ]
            },
        }
    ]


def test_quick_replies_become_an_inline_keyboard(httpserver, send):
    answer(httpserver, "sendMessage", ok(sent_message(45)))
    send(
        {
            "type": "text",
            "text": "Anything else?",
            "quickReplies": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}],
        }
    )
    assert requests_to(httpserver, "sendMessage")[0]["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "yes"}],
            [{"text": "No", "callback_data": "no"}],
        ]
    }


def test_a_button_id_over_64_bytes_fails_without_calling_telegram(httpserver, send):
    message = send(
        {
            "type": "buttons",
            "text": "Pick",
            "buttons": [{"type": "reply", "id": "é" * 33, "title": "A"}],
        }
    )
    assert httpserver.log == []
    assert (message.status, message.failure_code) == ("failed", "TELEGRAM_UNSUPPORTED_CONTENT")
    assert "64-byte" in message.failure_reason


def test_a_reply_quotes_the_message_id(httpserver, send, tg):
    customer = receive_message(
        channel=tg,
        sender=str(CHAT_ID),
        content={"type": "text", "text": "Where is my order?"},
        provider_message_id=f"{CHAT_ID}:100",
    ).message
    answer(httpserver, "sendMessage", ok(sent_message(46)))
    send(TEXT, reply_to=customer)
    assert requests_to(httpserver, "sendMessage") == [
        {
            "chat_id": CHAT_ID,
            "text": TEXT["text"],
            "reply_parameters": {"message_id": 100, "allow_sending_without_reply": True},
        }
    ]


def test_a_username_recipient_is_sent_as_given_and_tracked_by_chat_id(httpserver, send):
    channel_chat = {"id": -1001234567890, "title": "Acme News", "type": "channel"}
    answer(httpserver, "sendMessage", ok(sent_message(7, chat=channel_chat)))
    message = send(TEXT, to="@acme_news")
    assert requests_to(httpserver, "sendMessage")[0]["chat_id"] == "@acme_news"
    assert message.provider_message_id == "-1001234567890:7"


# --- Failures -----------------------------------------------------------------------


def test_flood_control_429_retries_after_telegrams_delay(httpserver, workspace, tg):
    answer(
        httpserver,
        "sendMessage",
        error(429, "Too Many Requests: retry after 17", retry_after=17),
        status=429,
    )
    message = send_message(workspace=workspace, channel=tg, to=str(CHAT_ID), content=TEXT)
    before = timezone.now()
    result = deliver_message(message_pk=message.pk)
    assert result.retryable and result.retry_after_seconds == 17
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.failure_code == "TELEGRAM_429"
    assert message.failure_reason == "Too Many Requests: retry after 17"
    wait = (message.next_attempt_at - before).total_seconds()
    assert 16 <= wait <= 19


def test_a_5xx_is_retried_with_backoff(httpserver, workspace, tg):
    answer(httpserver, "sendMessage", error(502, "Bad Gateway"), status=502)
    message = send_message(workspace=workspace, channel=tg, to=str(CHAT_ID), content=TEXT)
    result = deliver_message(message_pk=message.pk)
    assert result.retryable and result.retry_after_seconds is None
    message.refresh_from_db()
    assert (message.status, message.failure_code) == ("pending", "TELEGRAM_502")
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)


@pytest.mark.parametrize(
    ("status", "description"),
    [(403, "Forbidden: bot was blocked by the user"), (400, "Bad Request: chat not found")],
)
def test_blocked_or_unknown_chat_fails_with_telegrams_reason(httpserver, send, status, description):
    answer(httpserver, "sendMessage", error(status, description), status=status)
    message = send(TEXT)
    assert len(httpserver.log) == 1  # permanent: not retried
    assert message.status == "failed"
    assert message.failure_code == f"TELEGRAM_{status}"
    assert message.failure_reason == description


def test_an_unreachable_api_is_retryable_and_never_leaks_the_token(workspace, provider_channel):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = provider_channel(
        "telegram", {"botToken": BOT_TOKEN, "apiBaseUrl": f"http://127.0.0.1:{port}"}
    )
    message = send_message(workspace=workspace, channel=channel, to=str(CHAT_ID), content=TEXT)
    result = deliver_message(message_pk=message.pk)
    assert result.retryable and result.error_code == "PROVIDER_UNREACHABLE"
    message.refresh_from_db()
    assert message.failure_reason
    assert BOT_TOKEN not in message.failure_reason
    assert BOT_TOKEN.split(":")[1] not in message.failure_reason
