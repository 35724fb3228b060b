"""Polling email channels' IMAP mailboxes into the inbox.

Each poll of one channel: take the channel's poll lock (a cache key, so two
workers never read one mailbox at once), list unseen mail, and for each
mail, oldest first: fetch it without marking it, parse it with the same code
as the raw MIME webhook, apply it through `apply_inbound_events` (the same
path as every webhook), and only then flag it `\\Seen`. A crash anywhere
leaves the mail unseen for the next poll, whose copy the inbound service
dedupes on the Message-ID, so nothing is lost and nothing is doubled.

A refused IMAP login puts the channel in `error` (emitting `channel.error`);
an unreachable server is logged and tried again at the next poll.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.core.cache import cache

from channels_app.models import Channel
from channels_app.providers.base import InvalidPayload
from channels_app.providers.email.imap import (
    ImapError,
    ImapLoginRefused,
    Mailbox,
    imap_configured,
    max_mail_bytes,
)
from channels_app.providers.email.inbound import parse_email
from channels_app.services import set_channel_status
from messaging.services.inbound import apply_inbound_events

logger = logging.getLogger(__name__)

# Mail taken per poll: a full mailbox drains over a few polls, and one poll
# never holds the lock (or a worker) for long.
POLL_LIMIT = 50
# Longer than any poll can take; a worker that died holding it frees it then.
LOCK_SECONDS = 15 * 60


@dataclass
class PollSummary:
    fetched: int = 0
    received: int = 0
    duplicates: int = 0
    ignored: int = 0
    # Left unseen for the next poll (an error while applying).
    failed: int = 0


def pollable_channel_ids() -> list[int]:
    """Active, real email channels with an IMAP server configured."""
    channels = Channel.objects.filter(type=Channel.Type.EMAIL, status=Channel.Status.ACTIVE)
    return [
        channel.pk
        for channel in channels.only("pk", "config")
        if imap_configured(channel.config) and not channel.is_sandbox
    ]


def _lock_key(channel: Channel) -> str:
    return f"email-poll-lock:{channel.pk}"


def poll_mailbox(channel: Channel) -> PollSummary | None:
    """Poll one channel's mailbox; None when it has no IMAP or is being polled already."""
    if not imap_configured(channel.config):
        return None
    key, token = _lock_key(channel), secrets.token_hex(8)
    # cache.add is atomic (SET NX on Redis): only one poller gets the lock.
    if not cache.add(key, token, LOCK_SECONDS):
        logger.info("channel %s: mailbox already being polled", channel.public_id)
        return None
    try:
        return _poll(channel)
    finally:
        if cache.get(key) == token:
            cache.delete(key)


def _poll(channel: Channel) -> PollSummary | None:
    summary = PollSummary()
    try:
        with Mailbox(channel.config) as mailbox:
            uids = mailbox.unseen_uids(POLL_LIMIT)
            sizes = mailbox.sizes(uids)
            for uid in uids:
                _take(channel, mailbox, uid, sizes.get(uid, 0), summary)
    except ImapLoginRefused as exc:
        logger.warning("channel %s: %s", channel.public_id, exc)
        set_channel_status(channel=channel, status=Channel.Status.ERROR, reason=str(exc))
        return None
    except ImapError as exc:
        # Unreachable or failing server: nothing is lost, the next poll retries.
        logger.warning("channel %s: IMAP poll stopped: %s", channel.public_id, exc)
    if summary.fetched:
        logger.info(
            "channel %s IMAP poll: %d fetched, %d received, %d duplicate, %d ignored, %d failed",
            channel.public_id,
            summary.fetched,
            summary.received,
            summary.duplicates,
            summary.ignored,
            summary.failed,
        )
    return summary


def _take(channel: Channel, mailbox: Mailbox, uid: int, size: int, summary: PollSummary) -> None:
    """Fetch, apply and flag one mail; ImapError propagates and ends the poll."""
    if size > max_mail_bytes():
        logger.warning(
            "channel %s: mail UID %s is %d bytes, over the limit; left in the mailbox, marked seen",
            channel.public_id,
            uid,
            size,
        )
        mailbox.mark_seen(uid)
        return
    raw = mailbox.fetch(uid)
    if raw is None:
        return
    summary.fetched += 1
    try:
        events = parse_email(raw, channel.config)
    except InvalidPayload as exc:
        # It will never parse: flag it so it stops coming back, and say so.
        logger.warning("channel %s: mail UID %s unreadable: %s", channel.public_id, uid, exc)
        summary.ignored += 1
        mailbox.mark_seen(uid)
        return
    try:
        applied = apply_inbound_events(channel=channel, events=events)
    except Exception:
        # Left unseen: the next poll tries it again; the others go on meanwhile.
        logger.exception("channel %s: applying mail UID %s failed", channel.public_id, uid)
        summary.failed += 1
        return
    summary.received += applied.received
    summary.duplicates += applied.duplicates
    summary.ignored += applied.ignored
    mailbox.mark_seen(uid)
