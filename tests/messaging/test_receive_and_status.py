"""receive_message, provider status updates and read state."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from messaging.models import Contact, ContactIdentifier, Conversation, Message, OutboxEvent
from messaging.services import (
    bulk_mark_read,
    close_conversation,
    deliver_message,
    mark_read,
    receive_message,
    send_message,
    snooze_conversation,
    update_message_status,
)

HELLO = {"type": "text", "text": "Hello"}


def test_it_creates_contact_conversation_and_counts(channel):
    received = receive_message(
        channel=channel,
        sender="+5511999999999",
        content=HELLO,
        provider_message_id="wamid.1",
        sender_name="Ana",
    )
    assert received.created
    message = received.message
    conversation = message.conversation
    assert message.direction == "inbound" and message.status == "delivered"
    assert conversation.contact.name == "Ana"
    assert conversation.contact.phone == "+5511999999999"
    assert ContactIdentifier.objects.get().value == "+5511999999999"
    assert (conversation.unread_count, conversation.message_count) == (1, 1)
    assert conversation.last_inbound_at == message.created_at
    assert conversation.first_message_at == message.created_at
    assert OutboxEvent.objects.filter(event="message.received").count() == 1
    assert OutboxEvent.objects.filter(event="conversation.created").count() == 1
    assert OutboxEvent.objects.filter(event="contact.created").count() == 1


def test_a_webhook_repeated_five_times_makes_one_message(channel):
    results = [
        receive_message(
            channel=channel, sender="+5511999999999", content=HELLO, provider_message_id="wamid.X"
        )
        for _ in range(5)
    ]
    assert [r.created for r in results] == [True, False, False, False, False]
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_the_same_provider_id_on_another_channel_is_another_message(workspace, make_channel):
    one = make_channel(workspace, "whatsapp", name="one")
    two = make_channel(workspace, "whatsapp", name="two")
    for ch in (one, two):
        receive_message(
            channel=ch, sender="+5511999999999", content=HELLO, provider_message_id="m1"
        )
    assert Message.objects.count() == 2
    assert Contact.objects.count() == 1


def test_inbound_reopens_a_closed_conversation_and_wakes_a_snoozed_one(conversation, channel):
    close_conversation(conversation=conversation)
    receive_message(channel=channel, sender="+5511999999999", content=HELLO)
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.reopened_at is not None
    assert Conversation.objects.count() == 1

    snooze_conversation(conversation=conversation, until=timezone.now() + timedelta(hours=2))
    receive_message(channel=channel, sender="+5511999999999", content=HELLO)
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.snoozed_until is None


def test_a_rolled_back_receive_leaves_no_event(channel):
    with pytest.raises(RuntimeError), transaction.atomic():
        receive_message(channel=channel, sender="+5511999999999", content=HELLO)
        raise RuntimeError("boom")
    assert not OutboxEvent.objects.exists()
    assert not Message.objects.exists()


def _sent(workspace, conversation):
    message = send_message(workspace=workspace, conversation=conversation, content=HELLO)
    deliver_message(message_pk=message.pk)
    message.refresh_from_db()
    return message


def test_statuses_only_move_forward_and_history_stays_truthful(workspace, conversation):
    message = _sent(workspace, conversation)
    t0 = message.sent_at
    update_message_status(message=message, status="read", at=t0 + timedelta(seconds=5))
    # The delivery receipt arrives after the read receipt.
    update_message_status(message=message, status="delivered", at=t0 + timedelta(seconds=3))
    update_message_status(message=message, status="sent", at=t0 + timedelta(seconds=9))
    update_message_status(message=message, status="failed", error_code="131026")
    message.refresh_from_db()
    assert message.status == "read"
    assert [h["status"] for h in message.status_history] == ["pending", "sent", "delivered", "read"]
    assert message.delivered_at == t0 + timedelta(seconds=3)
    assert message.failure_code == ""
    events = list(
        OutboxEvent.objects.filter(event__startswith="message.").values_list("event", flat=True)
    )
    assert events.count("message.read") == 1
    assert "message.delivered" not in events  # no event for a step already passed


def test_a_failed_status_after_sent_fails_the_message(workspace, conversation):
    message = _sent(workspace, conversation)
    update_message_status(
        message=message, status="failed", error_code="131047", error_message="Re-engagement"
    )
    message.refresh_from_db()
    assert (message.status, message.failure_code, message.failure_reason) == (
        "failed",
        "131047",
        "Re-engagement",
    )


def test_mark_read_counts_down_unread_once(conversation, channel):
    second = receive_message(channel=channel, sender="+5511999999999", content=HELLO).message
    conversation.refresh_from_db()
    assert conversation.unread_count == 2
    mark_read(message=second)
    mark_read(message=second)
    conversation.refresh_from_db()
    second.refresh_from_db()
    assert conversation.unread_count == 1
    assert second.status == "read" and second.read_at is not None


def test_bulk_mark_read_by_conversation_and_before(conversation, channel, workspace):
    cut = timezone.now()
    later = receive_message(
        channel=channel,
        sender="+5511999999999",
        content=HELLO,
        received_at=cut + timedelta(milliseconds=1),
    ).message
    Message.objects.filter(pk=later.pk).update(created_at=cut + timedelta(seconds=1))
    assert bulk_mark_read(workspace=workspace, conversation=conversation, before=cut) == 1
    conversation.refresh_from_db()
    assert conversation.unread_count == 1
    assert bulk_mark_read(workspace=workspace, conversation=conversation) == 1
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_bulk_mark_read_by_ids_ignores_another_workspaces_messages(
    workspace, other_workspace, conversation, make_channel
):
    foreign = receive_message(
        channel=make_channel(other_workspace), sender="+5511999999999", content=HELLO
    ).message
    mine = conversation.messages.get()
    marked = bulk_mark_read(workspace=workspace, message_ids=[mine.public_id, foreign.public_id])
    assert marked == 1
    foreign.refresh_from_db()
    assert foreign.read_at is None
    assert foreign.conversation.unread_count == 1
