"""Talking to the channel's SMTP server (RFC 5321) with smtplib, and what its answers mean.

Connection: plain SMTP upgraded with STARTTLS (RFC 3207) when `smtpUseTls`
(the default, port 587), or TLS from the first byte when `smtpUseSsl`
(port 465, RFC 8314); AUTH (RFC 4954) when a username is configured.

Reply codes decide retries (RFC 5321 section 4.2.1): 4yz is a transient
failure worth retrying later, 5yz a permanent one; the message fails with
`SMTP_<code>` and the server's own text. No answer at all (refused
connection, timeout, dropped link) is transient too.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from channels_app.providers.base import CheckResult, SendResult
from channels_app.providers.http import timeout_seconds


class SmtpNotConfigured(Exception):
    """The channel has no SMTP server to send through."""


def _flag(config: dict[str, Any], key: str, default: bool) -> bool:
    value = config.get(key)
    return default if value is None else bool(value)


def connect(config: dict[str, Any]) -> smtplib.SMTP:
    """An SMTP session, secured and logged in as the channel's config says."""
    host = str(config.get("smtpHost") or "")
    if not host:
        raise SmtpNotConfigured("The channel has no SMTP server (smtpHost).")
    implicit_tls = _flag(config, "smtpUseSsl", False)
    port = int(config.get("smtpPort") or (465 if implicit_tls else 587))
    timeout = timeout_seconds()
    context = ssl.create_default_context()
    session: smtplib.SMTP
    if implicit_tls:
        session = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        session = smtplib.SMTP(host, port, timeout=timeout)
    try:
        session.ehlo()
        if not implicit_tls and _flag(config, "smtpUseTls", True):
            session.starttls(context=context)
            session.ehlo()
        username = str(config.get("smtpUsername") or "")
        if username:
            session.login(username, str(config.get("smtpPassword") or ""))
    except BaseException:
        _close(session)
        raise
    return session


def _close(session: smtplib.SMTP) -> None:
    try:
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:1000]


def _reply_failure(code: int, text: str) -> SendResult:
    return SendResult.failed(
        f"SMTP_{code}",
        text or f"The SMTP server answered {code}.",
        retryable=400 <= code < 500,
    )


def classify(exc: BaseException) -> SendResult:
    """What an smtplib/socket exception means for the message: retry, or fail with why."""
    if isinstance(exc, SmtpNotConfigured):
        return SendResult.failed("SMTP_NOT_CONFIGURED", str(exc))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # One recipient per message: its refusal is the answer.
        code, text = next(iter(exc.recipients.values()), (550, b""))
        return _reply_failure(int(code), _text(text))
    if isinstance(exc, smtplib.SMTPResponseException):
        # SMTPAuthenticationError (535), SMTPSenderRefused, SMTPDataError,
        # SMTPConnectError, SMTPHeloError: all carry the server's reply.
        code = int(exc.smtp_code)
        if code < 400:
            # -1 and other non-replies (a garbled line): the link, not the message.
            return SendResult.failed("SMTP_ERROR", _text(exc.smtp_error), retryable=True)
        return _reply_failure(code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendResult.failed("SMTP_NOT_SUPPORTED", str(exc))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendResult.failed("SMTP_TLS_ERROR", f"TLS certificate check failed: {exc}"[:1000])
    if isinstance(exc, smtplib.SMTPException) and not isinstance(
        exc, smtplib.SMTPServerDisconnected
    ):
        # No reply code: "no suitable authentication method" and the like, which
        # a retry would only repeat. (SMTPException is an OSError: test it first.)
        return SendResult.failed("SMTP_ERROR", str(exc)[:1000])
    # Refused connection, DNS failure, timeout, dropped link: nothing was decided.
    return SendResult.failed(
        "SMTP_UNREACHABLE", f"{type(exc).__name__}: {exc}"[:1000], retryable=True
    )


def send(config: dict[str, Any], msg: EmailMessage, recipient: str) -> SendResult | None:
    """Hand `msg` to the server for `recipient`; None when it was accepted."""
    try:
        session = connect(config)
    except (SmtpNotConfigured, smtplib.SMTPException, OSError) as exc:
        return classify(exc)
    try:
        # The envelope sender is the channel's address, so bounces come back to
        # the mailbox the poller reads.
        session.send_message(msg, from_addr=str(config["fromEmail"]), to_addrs=[recipient])
    except (smtplib.SMTPException, OSError) as exc:
        return classify(exc)
    finally:
        _close(session)
    return None


def check(config: dict[str, Any]) -> CheckResult:
    """Connect, secure and log in; refused credentials are `rejected`."""
    try:
        _close(connect(config))
    except SmtpNotConfigured as exc:
        return CheckResult.failure(str(exc), rejected=True)
    except (smtplib.SMTPException, OSError) as exc:
        result = classify(exc)
        rejected = not result.retryable and result.error_code != "SMTP_UNREACHABLE"
        return CheckResult.failure(f"SMTP: {result.error_message}", rejected=rejected)
    return CheckResult.success()
