"""Domain events: recorded in the outbox inside the transaction of the change.

`record_event` must be called inside `transaction.atomic()`; the row commits
or rolls back with the change it describes. Delivery to webhooks and live
updates reads the outbox after commit.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from inbox.live.bus import notify_on_commit
from inbox.models import Workspace
from messaging.models import OutboxEvent

logger = logging.getLogger(__name__)

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
    "contact.deleted",
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
    row = OutboxEvent.objects.create(
        workspace=workspace,
        event=event,
        data=data,
        conversation_public_id=conversation_public_id,
    )
    # Wakes open inbox pages once the change commits (inbox.live); queued
    # before the dispatcher so a slow broker never delays them.
    notify_on_commit(workspace.pk, row.pk)
    _dispatch_on_commit(connection)
    return row


def _dispatch_on_commit(connection: Any) -> None:
    """Ask for the webhook dispatcher once the transaction commits, once per transaction.

    A callback already waiting in this same (save)point of the transaction
    covers this event too, so a service recording three events queues one
    dispatch. Beat runs the dispatcher every 30 s as well, so an event whose
    trigger was lost (the broker was down at commit) still goes out.
    """
    savepoints = set(connection.savepoint_ids)
    for entry in getattr(connection, "run_on_commit", ()):
        entry_savepoints, callback = entry[0], entry[1]
        if getattr(callback, "dispatch_pending", False) and entry_savepoints == savepoints:
            return

    def dispatch_outbox_after_commit() -> None:
        dispatch_outbox_after_commit.dispatch_pending = False  # type: ignore[attr-defined]
        from kombu.exceptions import OperationalError

        from messaging.tasks import dispatch_outbox_task

        try:
            dispatch_outbox_task.delay()
        except (OperationalError, OSError):  # the broker is down: beat picks the events up
            logger.warning("could not queue the outbox dispatcher; beat will run it")

    dispatch_outbox_after_commit.dispatch_pending = True  # type: ignore[attr-defined]
    transaction.on_commit(dispatch_outbox_after_commit)
