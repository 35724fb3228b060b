"""Sending email through a real local SMTP server (aiosmtpd).

Each test sends through the real delivery path (`send_message`, then the
delivery task or `deliver_message`) and reads what the SMTP server
received: envelope, headers, parts. Failures are the server's own replies.
"""

from __future__ import annotations

import pytest

from channels_app.services import check_channel
from messaging.models import Message
from messaging.services import deliver_message, send_message
from tests.channels_app.providers.email_support import (
    CUSTOMER,
    FROM_EMAIL,
    PDF,
    PNG,
    SMTP_PASSWORD,
    bearer,
    customer_mail,
    email_config,
)
from tests.channels_app.providers.smtp_server import SmtpTestServer, free_port, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp():
    with SmtpTestServer(users={FROM_EMAIL: SMTP_PASSWORD}) as server:
        yield server


@pytest.fixture
def email_channel(provider_channel, smtp):
    return provider_channel("email", email_config(smtp_port=smtp.port))


def queue(workspace, channel, content, **kwargs) -> Message:
    """A pending message; the test delivers it with `deliver_message`."""
    return send_message(
        workspace=workspace, channel=channel, to=CUSTOMER, content=content, **kwargs
    )


def test_text_goes_out_with_headers_and_a_deterministic_message_id(
    workspace, email_channel, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(
            workspace,
            email_channel,
            {"type": "text", "text": "Your order shipped.\n\nTrack it <here>."},
            metadata={"subject": "Your order 42"},
        )
    message.refresh_from_db()

    assert message.status == "sent"
    expected_id = f"<{message.public_id}@acme.test>"
    assert message.provider_message_id == expected_id
    assert smtp.handler.logins == [FROM_EMAIL]
    [received] = smtp.received
    assert received.mail_from == FROM_EMAIL
    assert received.rcpt_tos == [CUSTOMER]
    mail = received.message
    assert mail["From"] == f"Acme Support <{FROM_EMAIL}>"
    assert mail["To"] == CUSTOMER
    assert mail["Subject"] == "Your order 42"
    assert mail["Message-ID"] == expected_id
    assert mail["Date"]
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert text_of(mail.get_body(("plain",))) == "Your order shipped.\n\nTrack it <here>.\n"
    # The HTML alternative carries the text escaped, never as markup.
    assert "Track it &lt;here&gt;." in text_of(mail.get_body(("html",)))


def test_a_new_thread_without_a_subject_gets_a_default_one(workspace, email_channel, smtp):
    message = queue(workspace, email_channel, {"type": "text", "text": "Hi"})
    assert deliver_message(message_pk=message.pk).ok
    assert smtp.received[0].message["Subject"] == "Message from Acme Support"


def test_a_resend_of_one_message_carries_the_same_message_id(workspace, email_channel, smtp):
    message = queue(workspace, email_channel, {"type": "text", "text": "Hi"})
    assert deliver_message(message_pk=message.pk).ok
    Message.objects.filter(pk=message.pk).update(status="pending", delivery_claimed_at=None)
    assert deliver_message(message_pk=message.pk).ok
    ids = [r.message["Message-ID"] for r in smtp.received]
    assert ids == [f"<{message.public_id}@acme.test>"] * 2


def test_a_reply_lands_in_the_customers_thread(
    workspace, email_channel, smtp, post_webhook, django_capture_on_commit_callbacks
):
    first = customer_mail("Where is my order?", message_id="<c1@example.com>", subject="Order 42")
    assert (
        post_webhook(
            email_channel, first, content_type="message/rfc822", headers=bearer()
        ).status_code
        == 200
    )
    inbound = Message.objects.get(provider_message_id="<c1@example.com>")

    with django_capture_on_commit_callbacks(execute=True):
        reply = send_message(
            workspace=workspace,
            conversation=inbound.conversation,
            content={"type": "text", "text": "It ships today."},
        )
    reply.refresh_from_db()
    assert reply.status == "sent"

    mail = smtp.received[0].message
    assert mail["Subject"] == "Re: Order 42"
    assert mail["In-Reply-To"] == "<c1@example.com>"
    assert mail["References"] == "<c1@example.com>"

    # The customer answers our reply: it threads onto our message.
    second = customer_mail(
        "Thanks!",
        message_id="<c2@example.com>",
        subject="Re: Order 42",
        headers={
            "In-Reply-To": reply.provider_message_id,
            "References": f"<c1@example.com> {reply.provider_message_id}",
        },
    )
    assert (
        post_webhook(
            email_channel, second, content_type="message/rfc822", headers=bearer()
        ).status_code
        == 200
    )
    answer = Message.objects.get(provider_message_id="<c2@example.com>")
    assert answer.conversation_id == inbound.conversation_id
    assert answer.reply_to_id == reply.pk

    # Our next reply names the whole thread, and never doubles the "Re:".
    follow_up = send_message(
        workspace=workspace,
        conversation=inbound.conversation,
        content={"type": "text", "text": "You're welcome."},
    )
    assert deliver_message(message_pk=follow_up.pk).ok
    mail = smtp.received[1].message
    assert mail["Subject"] == "Re: Order 42"
    assert mail["In-Reply-To"] == "<c2@example.com>"
    assert mail["References"].split() == [
        "<c1@example.com>",
        reply.provider_message_id,
        "<c2@example.com>",
    ]


@pytest.mark.parametrize(
    ("content", "path", "served_type", "body", "filename", "mime_type", "text"),
    [
        (
            {"type": "document", "filename": "invoice-42.pdf", "caption": "Your invoice"},
            "/files/abc123",
            "application/pdf",
            PDF,
            "invoice-42.pdf",
            "application/pdf",
            "Your invoice",
        ),
        ({"type": "image"}, "/media/photo.png", "image/png", PNG, "photo.png", "image/png", ""),
        ({"type": "audio"}, "/media/note.ogg", "audio/ogg", b"OggS", "note.ogg", "audio/ogg", ""),
        ({"type": "video"}, "/media/clip", "video/mp4", b"mp4-bytes", "clip.mp4", "video/mp4", ""),
    ],
)
def test_media_is_downloaded_and_attached_with_its_name_and_type(
    workspace,
    email_channel,
    smtp,
    httpserver,
    content,
    path,
    served_type,
    body,
    filename,
    mime_type,
    text,
):
    httpserver.expect_request(path, method="GET").respond_with_data(body, content_type=served_type)
    message = queue(workspace, email_channel, {**content, "url": httpserver.url_for(path)})

    assert deliver_message(message_pk=message.pk).ok

    mail = smtp.received[0].message
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == filename
    assert attachment.get_content_type() == mime_type
    assert attachment.get_content() == body
    assert text_of(mail.get_body(("plain",))).strip() == text


def test_a_file_that_cannot_be_downloaded_fails_the_message(
    workspace, email_channel, smtp, httpserver
):
    httpserver.expect_request("/gone.pdf").respond_with_data("Not Found", status=404)
    message = queue(
        workspace, email_channel, {"type": "document", "url": httpserver.url_for("/gone.pdf")}
    )

    result = deliver_message(message_pk=message.pk)

    assert not result.ok and not result.retryable
    message.refresh_from_db()
    assert (message.status, message.failure_code) == ("failed", "ATTACHMENT_DOWNLOAD_FAILED")
    assert smtp.received == []


def test_a_busy_file_host_is_retried_after_its_retry_after(
    workspace, email_channel, smtp, httpserver
):
    httpserver.expect_request("/busy.pdf").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    message = queue(
        workspace, email_channel, {"type": "document", "url": httpserver.url_for("/busy.pdf")}
    )

    result = deliver_message(message_pk=message.pk)

    assert result.retryable and result.retry_after_seconds == 120
    message.refresh_from_db()
    assert (message.status, message.failure_code) == ("pending", "ATTACHMENT_DOWNLOAD_FAILED")
    assert smtp.received == []


def test_a_refused_recipient_fails_with_the_servers_code_and_text(workspace, email_channel, smtp):
    smtp.handler.refuse_rcpt[CUSTOMER] = (
        "550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown"
    )
    message = queue(workspace, email_channel, {"type": "text", "text": "Hi"})

    result = deliver_message(message_pk=message.pk)

    assert not result.ok and not result.retryable
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.failure_code == "SMTP_550"
    assert (
        message.failure_reason
        == "5.1.1 <ana@example.com>: Recipient address rejected: User unknown"
    )
    assert smtp.received == []


def test_a_4xx_reply_is_retried_later(workspace, email_channel, smtp):
    smtp.handler.refuse_data = "451 4.3.0 Mail server temporarily rejected message"
    message = queue(workspace, email_channel, {"type": "text", "text": "Hi"})

    result = deliver_message(message_pk=message.pk)

    assert result.retryable
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.delivery_claimed_at is None and message.next_attempt_at is not None
    assert (message.failure_code, message.failure_reason) == (
        "SMTP_451",
        "4.3.0 Mail server temporarily rejected message",
    )

    # The server recovers: the retry sends it.
    smtp.handler.refuse_data = ""
    assert deliver_message(message_pk=message.pk).ok
    message.refresh_from_db()
    assert message.status == "sent" and len(smtp.received) == 1


def test_refused_credentials_fail_the_message(workspace, provider_channel, smtp):
    channel = provider_channel("email", email_config(smtp_port=smtp.port, smtpPassword="wrong"))
    message = queue(workspace, channel, {"type": "text", "text": "Hi"})

    result = deliver_message(message_pk=message.pk)

    assert not result.ok and not result.retryable
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.failure_code == "SMTP_535"
    assert "Authentication credentials invalid" in message.failure_reason


def test_an_unreachable_server_is_retried(workspace, provider_channel):
    channel = provider_channel("email", email_config(smtp_port=free_port()))
    message = queue(workspace, channel, {"type": "text", "text": "Hi"})

    result = deliver_message(message_pk=message.pk)

    assert result.retryable and result.error_code == "SMTP_UNREACHABLE"
    message.refresh_from_db()
    assert message.status == "pending"


def test_check_logs_in_to_smtp(provider_channel, smtp):
    channel = provider_channel("email", email_config(smtp_port=smtp.port), status="pending")
    result = check_channel(channel=channel)
    assert result.ok, result.error
    assert smtp.handler.logins == [FROM_EMAIL]
    channel.refresh_from_db()
    assert channel.status == "active"


def test_check_with_refused_credentials_is_rejected(provider_channel, smtp):
    channel = provider_channel("email", email_config(smtp_port=smtp.port, smtpPassword="wrong"))
    result = check_channel(channel=channel)
    assert not result.ok and result.rejected
    assert "535" in result.error or "Authentication" in result.error
    channel.refresh_from_db()
    assert channel.status == "error"


def test_check_of_an_unreachable_server_is_not_rejected(provider_channel):
    channel = provider_channel("email", email_config(smtp_port=free_port()))
    result = check_channel(channel=channel)
    assert not result.ok and not result.rejected
    channel.refresh_from_db()
    assert channel.status == "active"
