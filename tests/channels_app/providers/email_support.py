"""Shared pieces of the email channel tests: the channel's config and customers' mail."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate

FROM_EMAIL = "support@acme.test"
FROM_NAME = "Acme Support"
SMTP_PASSWORD = "smtp-pass-1"
IMAP_PASSWORD = "imap-pass-1"
WEBHOOK_SECRET = "mime-webhook-secret-1"
CUSTOMER = "ana@example.com"


def email_config(smtp_port: int | None = None, imap_port: int | None = None, **extra) -> dict:
    config: dict = {
        "fromEmail": FROM_EMAIL,
        "fromName": FROM_NAME,
        "webhookSecret": WEBHOOK_SECRET,
    }
    if smtp_port is not None:
        config.update(
            smtpHost="127.0.0.1",
            smtpPort=smtp_port,
            smtpUseTls=False,
            smtpUsername=FROM_EMAIL,
            smtpPassword=SMTP_PASSWORD,
        )
    if imap_port is not None:
        config.update(
            imapHost="127.0.0.1",
            imapPort=imap_port,
            imapUseTls=False,
            imapUsername=FROM_EMAIL,
            imapPassword=IMAP_PASSWORD,
        )
    config.update(extra)
    return config


def customer_mail(
    text: str | None = "Hello, where is my order?",
    *,
    message_id: str | None = "<cust-1@example.com>",
    subject: str = "Order 42",
    sender: str = CUSTOMER,
    name: str = "Ana Souza",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[bytes, str, str]] = (),
) -> bytes:
    """A mail as a customer's client sends it: text and/or HTML, files attached."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((name, sender))
    msg["To"] = formataddr((FROM_NAME, FROM_EMAIL))
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    if message_id:
        msg["Message-ID"] = message_id
    for key, value in (headers or {}).items():
        msg[key] = value
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    for data, mime_type, filename in attachments:
        major, _, minor = mime_type.partition("/")
        msg.add_attachment(data, maintype=major, subtype=minor, filename=filename)
    return msg.as_bytes()


def bearer(secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# The smallest valid PNG: a 1x1 transparent pixel (stored files are sniffed).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
