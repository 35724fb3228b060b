"""Telegram edits, deletes-for-everyone and reactions, carried from the services to the Bot API.

A message is first sent for real (sendMessage on the stand-in), then changed
through `edit_message`, `delete_message(for_everyone=True)` and
`react_to_message`; Celery runs the push tasks eagerly on commit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.providers.base import OutboundReaction
from channels_app.providers.telegram.provider import TelegramProvider
from messaging.errors import DeleteWindowExpired, EditWindowExpired
from messaging.models import Message, Reaction
from messaging.services import delete_message, edit_message
from messaging.services.reactions import react_to_message
from tests.channels_app.providers.telegram_outbound_support import TEXT, answer
from tests.channels_app.providers.telegram_support import (
    CHAT_ID,
    error,
    ok,
    requests_to,
    sent_message,
    telegram_channel,
)


@pytest.fixture
def sent(httpserver, provider_channel, send_on_commit):
    """A text sent to the customer's chat, which the stand-in answered as message 42."""
    tg = telegram_channel(provider_channel, httpserver)
    answer(httpserver, "sendMessage", ok(sent_message(42)))
    message = send_on_commit(TEXT, channel=tg, to=str(CHAT_ID))
    assert message.provider_message_id == f"{CHAT_ID}:42"
    return message


def test_an_edit_reaches_telegram_as_edit_message_text(
    httpserver, sent, django_capture_on_commit_callbacks
):
    answer(httpserver, "editMessageText", ok(sent_message(42, text="Shipped today.")))
    with django_capture_on_commit_callbacks(execute=True):
        edit_message(message=sent, content={"type": "text", "text": "Shipped today."})
    assert requests_to(httpserver, "editMessageText") == [
        {"chat_id": CHAT_ID, "message_id": 42, "text": "Shipped today."}
    ]
    sent.refresh_from_db()
    assert "providerSyncError" not in sent.metadata


def test_an_unchanged_edit_is_not_an_error(httpserver, sent, django_capture_on_commit_callbacks):
    answer(
        httpserver,
        "editMessageText",
        error(
            400,
            "Bad Request: message is not modified: specified new message content "
            "and reply markup are exactly the same",
        ),
        status=400,
    )
    with django_capture_on_commit_callbacks(execute=True):
        edit_message(message=sent, content=TEXT)
    assert len(requests_to(httpserver, "editMessageText")) == 1
    sent.refresh_from_db()
    assert "providerSyncError" not in sent.metadata


def test_delete_for_everyone_reaches_telegram(httpserver, sent, django_capture_on_commit_callbacks):
    answer(httpserver, "deleteMessage", ok(True))
    with django_capture_on_commit_callbacks(execute=True):
        delete_message(message=sent, for_everyone=True)
    assert requests_to(httpserver, "deleteMessage") == [{"chat_id": CHAT_ID, "message_id": 42}]
    sent.refresh_from_db()
    assert sent.deleted_for_everyone and "providerSyncError" not in sent.metadata


def test_a_refused_delete_is_recorded_on_the_message(
    httpserver, sent, django_capture_on_commit_callbacks
):
    answer(
        httpserver,
        "deleteMessage",
        error(400, "Bad Request: message can't be deleted for everyone"),
        status=400,
    )
    with django_capture_on_commit_callbacks(execute=True):
        delete_message(message=sent, for_everyone=True)
    sent.refresh_from_db()
    assert sent.metadata["providerSyncError"] == {
        "change": "delete",
        "code": "TELEGRAM_400",
        "message": "Bad Request: message can't be deleted for everyone",
    }


def test_edits_and_deletes_after_48_hours_are_refused_before_telegram(httpserver, sent):
    Message.objects.filter(pk=sent.pk).update(sent_at=timezone.now() - timedelta(hours=49))
    sent.refresh_from_db()
    with pytest.raises(EditWindowExpired):
        edit_message(message=sent, content={"type": "text", "text": "Too late"})
    with pytest.raises(DeleteWindowExpired):
        delete_message(message=sent, for_everyone=True)
    assert requests_to(httpserver, "editMessageText") == []
    assert requests_to(httpserver, "deleteMessage") == []


def test_an_agent_reaction_and_its_removal_reach_telegram(
    httpserver, sent, agent, django_capture_on_commit_callbacks
):
    answer(httpserver, "setMessageReaction", ok(True))
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=sent, reaction="love", actor_user=agent)
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=sent, reaction="love", operation="remove", actor_user=agent)
    # Telegram lists "❤" without the variation selector clients add ("❤️").
    assert requests_to(httpserver, "setMessageReaction") == [
        {"chat_id": CHAT_ID, "message_id": 42, "reaction": [{"type": "emoji", "emoji": "❤"}]},
        {"chat_id": CHAT_ID, "message_id": 42, "reaction": []},
    ]


def test_an_emoji_telegram_refuses_is_a_permanent_failure(
    httpserver, sent, agent, django_capture_on_commit_callbacks
):
    answer(
        httpserver, "setMessageReaction", error(400, "Bad Request: REACTION_INVALID"), status=400
    )
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=sent, reaction="🦆", actor_user=agent)
    # Not retried (an eager retry would have asked again at once).
    assert len(requests_to(httpserver, "setMessageReaction")) == 1
    assert Reaction.objects.filter(message=sent, emoji="🦆", removed_at__isnull=True).exists()
    result = TelegramProvider().react(
        OutboundReaction(
            channel_type="telegram",
            config=sent.channel.config,
            to=str(CHAT_ID),
            external_id=sent.provider_message_id,
            emoji="🦆",
        )
    )
    assert (result.ok, result.retryable) == (False, False)
    assert (result.error_code, result.error_message) == (
        "TELEGRAM_400",
        "Bad Request: REACTION_INVALID",
    )
