"""Polling an email channel's mailbox on a real local IMAP server (Twisted's IMAP4Server).

Mail is put in the server's INBOX as raw bytes; the poll (the beat task or
`poll_mailbox`) logs in over a socket, and the test reads what the inbox
recorded and which flags the server holds afterwards.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from channels_app.email_polling import POLL_LIMIT, poll_mailbox
from channels_app.services import check_channel
from channels_app.tasks import poll_email_inboxes_task
from messaging.models import Attachment, Message, OutboxEvent
from tests.channels_app.providers.email_support import (
    FROM_EMAIL,
    IMAP_PASSWORD,
    PNG,
    customer_mail,
    email_config,
)
from tests.channels_app.providers.imap_server import ImapTestServer
from tests.channels_app.providers.smtp_server import SmtpTestServer, free_port

pytestmark = pytest.mark.django_db

SEEN = "\\Seen"


@pytest.fixture(scope="session")
def imap_session():
    server = ImapTestServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def imap(imap_session):
    """The IMAP server with an empty INBOX for FROM_EMAIL / IMAP_PASSWORD."""
    imap_session.reset(FROM_EMAIL, IMAP_PASSWORD)
    return imap_session


@pytest.fixture
def email_channel(provider_channel, imap):
    return provider_channel("email", email_config(imap_port=imap.port))


def test_unseen_mail_is_polled_into_the_inbox_and_marked_seen(email_channel, imap):
    imap.deliver(customer_mail("Already read by a human", message_id="<old@example.com>"), (SEEN,))
    imap.deliver(customer_mail("Where is my order?", message_id="<m1@example.com>"))
    imap.deliver(
        customer_mail(
            "Here is the photo.\n\n> quoted",
            message_id="<m2@example.com>",
            sender="bob@example.com",
            name="Bob",
            attachments=[(PNG, "image/png", "box.png")],
        )
    )

    assert poll_email_inboxes_task.delay().get() == 1

    messages = Message.objects.order_by("id")
    assert [m.provider_message_id for m in messages] == ["<m1@example.com>", "<m2@example.com>"]
    assert [m.content["text"] for m in messages] == ["Where is my order?", "Here is the photo."]
    assert [m.from_address for m in messages] == ["ana@example.com", "bob@example.com"]
    attachment = Attachment.objects.get()
    assert (attachment.message_id, attachment.filename) == (messages[1].pk, "box.png")
    assert imap.flags() == [[SEEN], [SEEN], [SEEN]]

    # A second poll finds nothing unseen and creates nothing.
    summary = poll_mailbox(email_channel)
    assert summary is not None and summary.fetched == 0
    assert Message.objects.count() == 2


def test_mail_stays_unseen_until_applied_and_a_refetch_is_not_doubled(email_channel, imap):
    imap.deliver(customer_mail("First", message_id="<f1@example.com>"))
    imap.set_refuse_store(True)

    summary = poll_mailbox(email_channel)

    # Applied, but flagging failed: the server still has it unseen, because
    # the fetch was a peek (this server sets \Seen on a plain BODY[] fetch).
    assert summary is not None and summary.received == 1
    assert Message.objects.count() == 1
    assert imap.flags() == [[]]

    imap.set_refuse_store(False)
    summary = poll_mailbox(email_channel)

    assert summary is not None and (summary.fetched, summary.duplicates) == (1, 1)
    assert Message.objects.count() == 1
    assert imap.flags() == [[SEEN]]


def test_automatic_mail_is_marked_seen_without_a_message(email_channel, imap):
    imap.deliver(customer_mail("Out of office", headers={"Auto-Submitted": "auto-replied"}))
    summary = poll_mailbox(email_channel)
    assert summary is not None and summary.ignored == 1
    assert Message.objects.count() == 0
    assert imap.flags() == [[SEEN]]


def test_one_poll_takes_at_most_the_limit_oldest_first(email_channel, imap):
    for i in range(POLL_LIMIT + 2):
        imap.deliver(customer_mail(f"Mail {i}", message_id=f"<bulk-{i}@example.com>"))

    poll_mailbox(email_channel)

    assert Message.objects.count() == POLL_LIMIT
    assert not Message.objects.filter(provider_message_id=f"<bulk-{POLL_LIMIT}@example.com>")
    poll_mailbox(email_channel)
    assert Message.objects.count() == POLL_LIMIT + 2


def test_a_mailbox_being_polled_is_not_polled_twice(email_channel, imap):
    imap.deliver(customer_mail("Hello"))
    # Another worker's poll of this channel holds the lock.
    cache.add(f"email-poll-lock:{email_channel.pk}", "other-worker", 60)

    assert poll_mailbox(email_channel) is None
    assert Message.objects.count() == 0
    assert imap.flags() == [[]]

    cache.delete(f"email-poll-lock:{email_channel.pk}")
    assert poll_mailbox(email_channel).received == 1


def test_a_refused_imap_login_puts_the_channel_in_error(provider_channel, imap):
    channel = provider_channel("email", email_config(imap_port=imap.port, imapPassword="wrong"))
    imap.deliver(customer_mail("Hello"))

    poll_email_inboxes_task.delay()

    channel.refresh_from_db()
    assert channel.status == "error"
    assert "IMAP login refused" in channel.status_reason
    assert OutboxEvent.objects.filter(event="channel.error").count() == 1
    assert Message.objects.count() == 0
    assert imap.flags() == [[]]
    # A channel in error is not polled again until it is fixed.
    assert poll_email_inboxes_task.delay().get() == 0


def test_an_unreachable_imap_server_changes_nothing(provider_channel):
    channel = provider_channel("email", email_config(imap_port=free_port()))
    summary = poll_mailbox(channel)
    assert summary is not None and summary.fetched == 0
    channel.refresh_from_db()
    assert channel.status == "active"


def test_only_active_channels_with_imap_are_polled(provider_channel, imap):
    provider_channel("email", email_config(), name="no imap")
    provider_channel("email", email_config(imap_port=imap.port), status="inactive", name="off")
    imap.deliver(customer_mail("Hello"))
    assert poll_email_inboxes_task.delay().get() == 0
    assert Message.objects.count() == 0


def test_check_logs_in_to_smtp_and_imap(provider_channel, imap):
    with SmtpTestServer(users={FROM_EMAIL: "smtp-pass-1"}) as smtp:
        good = provider_channel(
            "email", email_config(smtp_port=smtp.port, imap_port=imap.port), status="pending"
        )
        assert check_channel(channel=good).ok
        refused = provider_channel(
            "email",
            email_config(
                smtp_port=smtp.port,
                imap_port=imap.port,
                imapPassword="wrong",
                fromEmail="other@acme.test",
            ),
        )
        result = check_channel(channel=refused)
    assert not result.ok and result.rejected
    assert "IMAP login refused" in result.error
    good.refresh_from_db()
    refused.refresh_from_db()
    assert (good.status, refused.status) == ("active", "error")
