"""Every state change of the conversation domain, one function per use case.

The API, the inbox UI, the admin, management commands and Celery tasks call
these; nothing else saves the messaging models. Functions are keyword-only,
validate first, then change rows in one transaction, record their events in
the outbox, and hand side effects to Celery on commit.
"""

from messaging.services.contacts import create_contact, find_or_create_contact, update_contact
from messaging.services.conversations import (
    assign_conversation,
    close_conversation,
    open_conversation,
    reopen_conversation,
    snooze_conversation,
    update_conversation,
    wake_snoozed_conversations,
)
from messaging.services.messages import (
    bulk_mark_read,
    delete_message,
    deliver_message,
    edit_message,
    mark_read,
    receive_message,
    record_delivery_result,
    retry_message,
    send_message,
    update_message_status,
)
from messaging.services.reactions import react_to_message

__all__ = [
    "assign_conversation",
    "bulk_mark_read",
    "close_conversation",
    "create_contact",
    "delete_message",
    "deliver_message",
    "edit_message",
    "find_or_create_contact",
    "mark_read",
    "open_conversation",
    "react_to_message",
    "receive_message",
    "record_delivery_result",
    "reopen_conversation",
    "retry_message",
    "send_message",
    "snooze_conversation",
    "update_contact",
    "update_conversation",
    "update_message_status",
    "wake_snoozed_conversations",
]
