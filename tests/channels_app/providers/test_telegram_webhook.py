"""Telegram webhooks: the secret token, dedupe, unknown kinds, button taps and reactions.

Everything is posted to the channel's real webhook URL and checked in the
database; Update bodies follow https://core.telegram.org/bots/api#update.
"""

from __future__ import annotations

import pytest

from messaging.models import Contact, Conversation, Message, Reaction
from messaging.services import receive_message
from tests.channels_app.providers.telegram_support import (
    BOT,
    CHAT_ID,
    DATE,
    PRIVATE_CHAT,
    SECRET_HEADER,
    USER,
    body,
    incoming,
    telegram_channel,
)


@pytest.fixture
def tg(provider_channel, httpserver):
    return telegram_channel(provider_channel, httpserver)


@pytest.fixture
def deliver(post_webhook, tg, django_capture_on_commit_callbacks):
    """Post an Update with the right secret; run what it queued (file fetches)."""

    def go(update: dict, headers: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(
                tg, body(update), headers=SECRET_HEADER if headers is None else headers
            )
        return response

    return go


def only_message(channel) -> Message:
    [message] = Message.objects.filter(channel=channel)
    return message


# --- Button taps --------------------------------------------------------------------------


def test_a_button_tap_is_a_text_reply_to_our_message(deliver, tg):
    ours = receive_message(
        channel=tg,
        sender=str(CHAT_ID),
        content={"type": "text", "text": "How was it?"},
        provider_message_id=f"{CHAT_ID}:42",
    ).message
    keyboard = {
        "inline_keyboard": [
            [{"text": "Great", "callback_data": "rate_good"}],
            [{"text": "Not good", "callback_data": "rate_bad"}],
        ]
    }
    update = {
        "update_id": 500010,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": USER,
            "message": {
                "message_id": 42,
                "from": BOT,
                "chat": PRIVATE_CHAT,
                "date": DATE,
                "text": "How was it?",
                "reply_markup": keyboard,
            },
            "chat_instance": "-8765432101234567890",
            "data": "rate_bad",
        },
    }
    for _ in range(2):
        assert deliver(update).status_code == 200
    [tap] = Message.objects.filter(provider_message_id="cbq:4382bfdwdsb323b2d9")
    assert tap.content == {"type": "text", "text": "Not good"}
    assert tap.metadata["interactive"] == {
        "type": "button_reply",
        "id": "rate_bad",
        "title": "Not good",
    }
    assert tap.reply_to_id == ours.pk
    assert tap.from_address == str(CHAT_ID)


# --- Reactions ----------------------------------------------------------------------------


def reaction_update(update_id: int, old: list[str], new: list[str]) -> dict:
    return {
        "update_id": update_id,
        "message_reaction": {
            "chat": PRIVATE_CHAT,
            "message_id": 42,
            "user": USER,
            "date": DATE,
            "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
            "new_reaction": [{"type": "emoji", "emoji": e} for e in new],
        },
    }


def live_reactions(message) -> list[str]:
    return sorted(
        Reaction.objects.filter(message=message, removed_at__isnull=True).values_list(
            "emoji", flat=True
        )
    )


def test_reactions_are_added_changed_and_removed(deliver, tg):
    ours = receive_message(
        channel=tg,
        sender=str(CHAT_ID),
        content={"type": "text", "text": "Your order shipped"},
        provider_message_id=f"{CHAT_ID}:42",
    ).message
    deliver(reaction_update(1, [], ["👍"]))
    assert live_reactions(ours) == ["👍"]
    [reaction] = Reaction.objects.filter(message=ours)
    assert reaction.actor_type == "contact"
    assert reaction.actor_contact_id == ours.conversation.contact_id

    deliver(reaction_update(2, ["👍"], ["❤"]))
    assert live_reactions(ours) == ["❤"]

    deliver(reaction_update(3, ["❤"], []))
    assert live_reactions(ours) == []


# --- Verification, dedupe, unknown kinds ----------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}],
    ids=["missing", "wrong"],
)
def test_a_bad_secret_is_401_and_records_nothing(deliver, tg, headers):
    response = deliver(incoming(107, text="Hi"), headers=headers)
    assert response.status_code == 401
    assert not Message.objects.exists()
    assert not Contact.objects.exists()
    assert not Conversation.objects.exists()


def test_a_channel_without_a_secret_accepts_nothing(post_webhook, provider_channel, httpserver):
    channel = provider_channel(
        "telegram", {"botToken": "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"}
    )
    response = post_webhook(channel, body(incoming(text="Hi")), headers=SECRET_HEADER)
    assert response.status_code == 401
    assert not Message.objects.exists()


def test_the_same_update_five_times_is_one_message(deliver, tg):
    update = incoming(108, text="Hello?")
    for _ in range(5):
        assert deliver(update).status_code == 200
    assert Message.objects.filter(channel=tg).count() == 1
    conversation = Conversation.objects.get(channel=tg)
    assert (conversation.message_count, conversation.unread_count) == (1, 1)


@pytest.mark.parametrize(
    "update",
    [
        {
            "update_id": 9,
            "my_chat_member": {
                "chat": PRIVATE_CHAT,
                "from": USER,
                "date": DATE,
                "old_chat_member": {"user": BOT, "status": "member"},
                "new_chat_member": {"user": BOT, "status": "kicked", "until_date": 0},
            },
        },
        {
            "update_id": 10,
            "edited_message": {
                "message_id": 100,
                "from": USER,
                "chat": PRIVATE_CHAT,
                "date": DATE,
                "edit_date": DATE + 60,
                "text": "Edited",
            },
        },
        incoming(109, poll={"id": "1", "question": "?", "options": [], "is_closed": False}),
        incoming(110, new_chat_members=[USER]),
        {"update_id": 11},
    ],
    ids=["my_chat_member", "edited_message", "poll", "service-message", "empty"],
)
def test_unknown_update_kinds_are_acknowledged(deliver, update):
    response = deliver(update)
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert not Message.objects.exists()


def test_a_body_that_is_not_json_is_400(post_webhook, tg):
    response = post_webhook(tg, b"not json", headers=SECRET_HEADER)
    assert response.status_code == 400
    assert not Message.objects.exists()
