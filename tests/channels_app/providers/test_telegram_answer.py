"""A button tap is answered in the webhook reply itself: answerCallbackQuery.

"Making requests when getting updates" (https://core.telegram.org/bots/api):
the reply to a webhook may carry one Bot API call as JSON, the method named
in `method`. Until the bot answers a callback query, the customer's client
shows a progress bar on the button; every other update keeps the plain
`{"received": true}`.
"""

from __future__ import annotations

import json

import pytest

from channels_app.models import Channel
from messaging.models import Message
from tests.channels_app.providers.telegram_support import (
    BOT,
    DATE,
    PRIVATE_CHAT,
    SECRET_HEADER,
    USER,
    body,
    incoming,
    telegram_channel,
)

QUERY_ID = "4382bfdwdsb323b2d9"


@pytest.fixture
def tg(provider_channel, httpserver):
    return telegram_channel(provider_channel, httpserver)


@pytest.fixture
def deliver(post_webhook, tg):
    def go(update: dict, headers: dict | None = None):
        return post_webhook(tg, body(update), headers=SECRET_HEADER if headers is None else headers)

    return go


def tap(data: str | None = "rate_good", update_id: int = 500010) -> dict:
    query = {
        "id": QUERY_ID,
        "from": USER,
        "message": {
            "message_id": 42,
            "from": BOT,
            "chat": PRIVATE_CHAT,
            "date": DATE,
            "text": "How was it?",
            "reply_markup": {
                "inline_keyboard": [[{"text": "Great", "callback_data": "rate_good"}]]
            },
        },
        "chat_instance": "-8765432101234567890",
    }
    if data is not None:
        query["data"] = data
    return {"update_id": update_id, "callback_query": query}


def test_a_button_tap_is_answered_with_answer_callback_query_in_the_reply(deliver):
    response = deliver(tap())

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "method": "answerCallbackQuery",
        "callback_query_id": QUERY_ID,
    }
    [message] = Message.objects.all()
    assert message.provider_message_id == f"cbq:{QUERY_ID}"
    assert message.content == {"type": "text", "text": "Great"}


def test_a_retried_tap_is_answered_again_and_recorded_once(deliver):
    # Telegram retries when it saw no answer; answering twice is harmless.
    replies = [json.loads(deliver(tap()).content) for _ in range(3)]
    assert {r["callback_query_id"] for r in replies} == {QUERY_ID}
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "update",
    [
        incoming(text="hi"),
        {"update_id": 500020, "my_chat_member": {"chat": PRIVATE_CHAT, "from": USER}},
        tap(data=None),  # a game button: nothing we sent, nothing recorded
    ],
    ids=["message", "unknown-kind", "tap-without-data"],
)
def test_other_updates_keep_the_plain_acknowledgement(deliver, update):
    response = deliver(update)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"received": True}


def test_a_tap_on_an_inactive_channel_is_acknowledged_but_not_answered(deliver, tg):
    Channel.objects.filter(pk=tg.pk).update(status=Channel.Status.INACTIVE)
    response = deliver(tap())
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert not Message.objects.exists()


def test_a_tap_with_a_bad_secret_is_401_and_not_answered(deliver):
    response = deliver(tap(), headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    assert response.status_code == 401
    assert "answerCallbackQuery" not in response.content.decode()
    assert not Message.objects.exists()
