"""Domain events: recorded in the outbox inside the transaction of the change.

`record_event` must be called inside `transaction.atomic()`; the row commits
or rolls back with the change it describes. Delivery to webhooks and live
updates reads the outbox after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from inbox.models import Workspace
from messaging.models import OutboxEvent

EVENT_TYPES = (
    "message.received",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.updated",
    "message.deleted",
    "conversation.created",
    "conversation.updated",
    "conversation.assigned",
    "conversation.transferred",
    "conversation.closed",
    "conversation.reopened",
    "contact.created",
    "contact.updated",
    "contact.merged",
    "channel.created",
    "channel.updated",
    "channel.activated",
    "channel.deactivated",
    "channel.error",
    "channel.deleted",
    "test.ping",
)


def record_event(
    *,
    workspace: Workspace,
    event: str,
    data: dict[str, Any],
    conversation_public_id: str = "",
) -> OutboxEvent:
    if event not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event!r}")
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change")
    return OutboxEvent.objects.create(
        workspace=workspace,
        event=event,
        data=data,
        conversation_public_id=conversation_public_id,
    )
