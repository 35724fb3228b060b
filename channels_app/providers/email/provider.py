"""The email channel: SMTP out, raw MIME in (webhook) and IMAP polling in (`imap.py`).

Outbound, `send` builds the MIME message (`compose.py`), attaching the file
of a media message, and hands it to the channel's SMTP server (`smtp.py`).
The provider id is the Message-ID, angle brackets included, exactly as the
customer's reply names it in In-Reply-To.

Inbound, the channel's webhook URL takes one raw message per POST
(`Content-Type: message/rfc822`, e.g. from a mail server's pipe or an
inbound-mail relay), authenticated by `Authorization: Bearer <webhookSecret>`.
The IMAP poller (`channels_app.email_polling`) reads the same bytes from
the mailbox and parses them with the same `parse_email`.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from channels_app.providers.base import (
    CheckResult,
    InboundEvent,
    InboundRequest,
    Outbound,
    SendResult,
)
from channels_app.providers.email import smtp
from channels_app.providers.email.compose import (
    MEDIA_TYPES,
    AttachedFile,
    build_email,
    download_attachment,
    message_id_for,
)
from channels_app.providers.email.imap import ImapError, ImapLoginRefused, Mailbox, imap_configured
from channels_app.providers.email.inbound import parse_email

logger = logging.getLogger(__name__)


class EmailProvider:
    channel_type = "email"

    # --- Outbound -------------------------------------------------------------------

    def send(self, outbound: Outbound) -> SendResult:
        if not outbound.config.get("fromEmail"):
            return SendResult.failed("SMTP_NOT_CONFIGURED", "The channel has no fromEmail.")
        attachment: AttachedFile | None = None
        if outbound.content.get("type") in MEDIA_TYPES:
            downloaded = download_attachment(outbound.content)
            if isinstance(downloaded, SendResult):
                return downloaded
            attachment = downloaded
        elif outbound.content.get("type") != "text":
            return SendResult.failed(
                "UNSUPPORTED_CONTENT",
                f"Email cannot carry {outbound.content.get('type')!r} messages.",
            )
        msg = build_email(outbound, attachment)
        failure = smtp.send(outbound.config, msg, outbound.to)
        if failure is not None:
            logger.info(
                "email %s to SMTP failed: %s %s",
                outbound.message_id,
                failure.error_code,
                failure.error_message,
            )
            return failure
        return SendResult.sent(message_id_for(outbound))

    def check(self, config: dict[str, Any]) -> CheckResult:
        """SMTP connect + login, then IMAP login when the channel polls a mailbox."""
        result = smtp.check(config)
        if not result.ok or not imap_configured(config):
            return result
        try:
            with Mailbox(config):
                pass
        except ImapLoginRefused as exc:
            return CheckResult.failure(str(exc), rejected=True)
        except ImapError as exc:
            return CheckResult.failure(str(exc))
        return CheckResult.success()

    # --- Inbound: raw MIME posted to the webhook URL -------------------------------------

    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool:
        secret = str(config.get("webhookSecret") or "")
        if not secret:
            # No secret configured: the endpoint is closed, never open to anyone.
            return False
        scheme, _, token = request.header("authorization").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(token.strip().encode(), secret.encode())

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
        return parse_email(request.body, config)


PROVIDER = EmailProvider
