"""Celery tasks of the channels domain: thin wrappers around services.

Beat runs `poll_email_inboxes_task` every EMAIL_IMAP_POLL_SECONDS; it queues
one `poll_email_channel_task` per email channel with an IMAP server, so a
slow or unreachable mailbox never holds up the others. The poll itself
(`channels_app.email_polling.poll_mailbox`) locks its mailbox, so piled-up
tasks for one channel never read it twice at once.
"""

from __future__ import annotations

from celery import shared_task

from channels_app import email_polling
from channels_app.models import Channel


@shared_task
def poll_email_inboxes_task() -> int:
    """Queue a poll of every pollable email channel; answers how many were queued."""
    channel_ids = email_polling.pollable_channel_ids()
    for channel_pk in channel_ids:
        poll_email_channel_task.delay(channel_pk)
    return len(channel_ids)


@shared_task(acks_late=False)
def poll_email_channel_task(channel_pk: int) -> str:
    """Poll one channel's mailbox.

    Acknowledged on receipt: a poll lost with its worker is simply the next
    beat's poll, and what it had fetched is still unseen in the mailbox.
    """
    channel = Channel.objects.select_related("workspace").filter(pk=channel_pk).first()
    if channel is None or channel.status != Channel.Status.ACTIVE:
        return "skipped"
    summary = email_polling.poll_mailbox(channel)
    if summary is None:
        return "skipped"
    return f"received {summary.received}"
