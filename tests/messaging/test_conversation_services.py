"""Conversation services: assign, update, close, reopen, snooze, wake; reactions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.errors import ValidationFailed
from messaging.errors import InvalidStateTransition
from messaging.models import Conversation, OutboxEvent, Reaction
from messaging.services import (
    assign_conversation,
    close_conversation,
    react_to_message,
    receive_message,
    reopen_conversation,
    snooze_conversation,
    update_conversation,
    wake_snoozed_conversations,
)
from messaging.services.conversations import ConversationExists


def test_assign_to_a_member_and_unassign(conversation, agent, admin_user):
    assign_conversation(conversation=conversation, assignee=agent, by=admin_user)
    conversation.refresh_from_db()
    assert conversation.assignee == agent and conversation.assigned_by == admin_user
    assert OutboxEvent.objects.filter(event="conversation.assigned").count() == 1
    assign_conversation(conversation=conversation, assignee=None, by=admin_user)
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_assign_refuses_an_agent_of_another_workspace(conversation, stranger):
    with pytest.raises(ValidationFailed):
        assign_conversation(conversation=conversation, assignee=stranger)
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_update_merges_metadata_and_replaces_tags(conversation):
    update_conversation(
        conversation=conversation, metadata={"a": 1}, tags=["vip", "vip", "billing"]
    )
    update_conversation(conversation=conversation, metadata={"b": 2}, priority="urgent")
    conversation.refresh_from_db()
    assert conversation.metadata == {"a": 1, "b": 2}
    assert conversation.tags == ["vip", "billing"]
    assert conversation.priority == "urgent"
    with pytest.raises(ValidationFailed):
        update_conversation(conversation=conversation, priority="asap")


def test_close_then_reopen(conversation, agent):
    close_conversation(conversation=conversation, by=agent, resolution="spam", reason="bot")
    conversation.refresh_from_db()
    assert (conversation.status, conversation.resolution, conversation.closed_by) == (
        "closed",
        "spam",
        agent,
    )
    with pytest.raises(InvalidStateTransition):
        close_conversation(conversation=conversation)
    reopen_conversation(conversation=conversation, by=agent)
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.closed_at is None
    assert conversation.reopened_by == agent
    with pytest.raises(InvalidStateTransition):
        reopen_conversation(conversation=conversation)


def test_close_refuses_an_unknown_resolution(conversation):
    with pytest.raises(ValidationFailed):
        close_conversation(conversation=conversation, resolution="done")


def test_reopen_refuses_when_another_is_open(conversation, channel):
    close_conversation(conversation=conversation)
    newer = Conversation.objects.create(
        workspace=conversation.workspace, channel=channel, contact=conversation.contact
    )
    with pytest.raises(ConversationExists):
        reopen_conversation(conversation=conversation)
    assert newer.status == "open"


def test_snooze_and_wake(conversation):
    with pytest.raises(ValidationFailed):
        snooze_conversation(conversation=conversation, until=timezone.now() - timedelta(minutes=1))
    snooze_conversation(conversation=conversation, until=timezone.now() + timedelta(hours=1))
    conversation.refresh_from_db()
    assert conversation.status == "snoozed"
    assert wake_snoozed_conversations() == 0
    assert wake_snoozed_conversations(now=timezone.now() + timedelta(hours=2)) == 1
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.snoozed_until is None


def test_a_closed_conversation_cannot_be_snoozed(conversation):
    close_conversation(conversation=conversation)
    with pytest.raises(InvalidStateTransition):
        snooze_conversation(conversation=conversation, until=timezone.now() + timedelta(hours=1))


def test_reactions_add_once_and_remove(conversation, agent):
    message = conversation.messages.get()
    first = react_to_message(message=message, reaction="love", actor_user=agent)
    again = react_to_message(message=message, reaction="❤️", actor_user=agent)
    assert first.pk == again.pk and first.kind == "love" and first.emoji == "❤️"
    contact_rx = react_to_message(
        message=message, reaction="👍", actor_contact=conversation.contact
    )
    assert contact_rx.kind == "like"
    react_to_message(message=message, reaction="love", operation="remove", actor_user=agent)
    assert Reaction.objects.filter(removed_at__isnull=True).count() == 1
    assert OutboxEvent.objects.filter(event="message.updated").count() == 3


@pytest.mark.parametrize(
    ("reaction", "operation"), [("thumbsup", "add"), ("", "add"), ("love", "toggle")]
)
def test_reactions_refuse_bad_input(conversation, agent, reaction, operation):
    with pytest.raises(ValidationFailed):
        react_to_message(
            message=conversation.messages.get(),
            reaction=reaction,
            operation=operation,
            actor_user=agent,
        )


def test_one_active_conversation_per_contact_and_channel_is_enforced(conversation, channel):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(
            workspace=conversation.workspace, channel=channel, contact=conversation.contact
        )
    # A closed one does not count.
    close_conversation(conversation=conversation)
    receive_message(channel=channel, sender="+14155552671", content={"type": "text", "text": "x"})
