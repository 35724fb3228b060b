"""Raw email (RFC 5322 / MIME bytes) to neutral inbound events.

Shared by the raw MIME webhook and the IMAP poller, so a mail reads the same
whichever way it came in:

- a customer's mail -> `InboundMessage` keyed by its Message-ID (a stable
  hash of the bytes when it has none), the reply text trimmed of quoted
  history, files kept inline (`InboundMedia.data`);
- a delivery status notification (RFC 3464 `multipart/report;
  report-type=delivery-status`) about a mail we sent -> `InboundStatus`
  `failed` with the diagnostic (or `delivered`);
- automatic mail (RFC 3834 `Auto-Submitted`, `Precedence: bulk`, other
  bounces) and our own mail seen again in the mailbox -> `Ignored`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

from channels_app.providers.base import (
    Ignored,
    InboundEvent,
    InboundMedia,
    InboundMessage,
    InboundStatus,
    InvalidPayload,
)
from channels_app.providers.email.text import html_to_text, tidy, trim_quoted

# Linktor text content holds up to this many characters; the rest of a very
# long mail is cut (quoted history is gone already, so this is rare).
MAX_TEXT_LENGTH = 4096
MAX_ATTACHMENTS = 20
_MSG_ID = re.compile(r"<[^<>\s]+>")
_AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply"})


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    return str(value).strip() if value is not None else ""


def message_ids(value: str) -> list[str]:
    """The `<id@host>` tokens of a Message-ID, In-Reply-To or References header."""
    return _MSG_ID.findall(value or "")


def provider_id(msg: Message, raw: bytes) -> str:
    """The Message-ID, or a stable stand-in from the bytes when the mail has none."""
    ids = message_ids(_header(msg, "Message-ID"))
    if ids:
        return ids[0][:255]
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def _address(msg: Message, name: str) -> tuple[str, str]:
    """(display name, lower-cased address) of a single-address header."""
    try:
        header = msg.get(name)
        addresses = getattr(header, "addresses", None)
        if addresses:
            return addresses[0].display_name, addresses[0].addr_spec.lower()
    except (IndexError, TypeError, ValueError):  # a malformed header: read it plainly
        pass
    display, address = parseaddr(_header(msg, name))
    return display, address.lower()


def _addresses(msg: Message, name: str) -> list[str]:
    values = [str(v) for v in msg.get_all(name) or []]
    return [address.lower() for _, address in getaddresses(values) if address]


def _date(msg: Message) -> datetime | None:
    try:
        at = parsedate_to_datetime(_header(msg, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _is_automatic(msg: Message) -> str:
    """Why this mail was sent by a machine (RFC 3834 and common practice), or ""."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _header(msg, "X-Autoreply").lower() == "yes" or _header(msg, "X-Autorespond"):
        return "X-Autoreply"
    return ""


def _is_bounce(msg: Message, sender: str) -> bool:
    # Bounces travel with the null reverse-path (RFC 5321 4.5.5).
    if _header(msg, "Return-Path") == "<>":
        return True
    local = sender.split("@", 1)[0]
    return local in ("mailer-daemon", "postmaster")


# --- Delivery status notifications -------------------------------------------------


def _dsn_fields(report: Message) -> list[Message]:
    """Header blocks of a message/delivery-status part: per-message, then per-recipient."""
    payload = report.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # Some parsers leave it as text: blocks are separated by blank lines.
    text = payload if isinstance(payload, str) else ""
    return [HeaderParser().parsestr(block) for block in re.split(r"\n\s*\n", text) if block]


def _original_ids(report: Message) -> list[str]:
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return message_ids(_header(inner[0], "Message-ID"))
        elif kind == "text/rfc822-headers":
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
            headers = HeaderParser().parsestr(text)
            return message_ids(_header(headers, "Message-ID"))
    return []


def _dsn_events(msg: Message, our_domain: str) -> list[InboundEvent]:
    """An RFC 3464 report about a mail we sent, as its status; else Ignored."""
    status_part = next(
        (p for p in msg.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    original = _original_ids(msg)
    if status_part is None or not original:
        return [Ignored("bounce", "a delivery report without the original Message-ID")]
    target = original[0]
    # Only reports about our own Message-IDs: anything else is noise.
    if not target.lower().endswith(f"@{our_domain}>"):
        return [Ignored("bounce", f"a delivery report about {target}")]
    recipients = [block for block in _dsn_fields(status_part) if block.get("Action")]
    for block in recipients:
        action = _header(block, "Action").lower()
        if action == "failed":
            status = _header(block, "Status")
            # "Diagnostic-Code: smtp; 550 5.1.1 ...": the type, then the server's reply.
            diagnostic = _header(block, "Diagnostic-Code").split(";", 1)[-1].strip()
            return [
                InboundStatus(
                    provider_message_id=target,
                    status="failed",
                    at=_date(msg),
                    error_code=f"SMTP_{status}" if status else "BOUNCED",
                    error_message=" ".join(diagnostic.split())[:1000]
                    or "The recipient's mail server refused the message.",
                )
            ]
        if action == "delivered":
            return [InboundStatus(target, "delivered", at=_date(msg))]
    return [Ignored("delivery_report", f"{target}: no failure or delivery")]


# --- Customer mail ---------------------------------------------------------------------


def _kind(mime_type: str) -> str:
    major = mime_type.split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "document"


def _leaf_parts(part: Message) -> list[Message]:
    """Every non-multipart part; a forwarded mail (message/rfc822) is one part, a file."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    leaves: list[Message] = []
    for sub in part.get_payload():
        leaves.extend(_leaf_parts(sub))
    return leaves


def _attachment(part: Message, index: int) -> InboundMedia | None:
    mime_type = part.get_content_type()
    if mime_type == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        filename = part.get_filename() or f"forwarded-{index}.eml"
    else:
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename() or ""
    if not data:
        return None
    return InboundMedia(
        kind=_kind(mime_type), data=data, filename=filename[:255], mime_type=mime_type
    )


def _is_body_text(part: Message) -> bool:
    return (
        part.get_content_maintype() == "text"
        and part.get_content_subtype() in ("plain", "html")
        and not part.get_filename()
        and part.get_content_disposition() != "attachment"
    )


def _part_text(part: Message) -> str:
    try:
        text = part.get_content() if isinstance(part, EmailMessage) else ""
    except (LookupError, ValueError):  # an unknown charset: decode leniently
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return tidy(text)


def _body_text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    return trim_quoted(_part_text(body))


def _customer_message(msg: EmailMessage, raw: bytes, name: str, sender: str) -> InboundMessage:
    text = _body_text(msg)
    metadata: dict[str, Any] = {
        "subject": " ".join(_header(msg, "Subject").split()),
        "messageId": provider_id(msg, raw),
        "inReplyTo": (message_ids(_header(msg, "In-Reply-To")) or [""])[0],
        "references": message_ids(_header(msg, "References")),
        "to": _addresses(msg, "To"),
        "cc": _addresses(msg, "Cc"),
    }
    sent_at = _date(msg)
    if sent_at is not None:
        metadata["date"] = sent_at.isoformat()
    if len(text) > MAX_TEXT_LENGTH:
        text = text[: MAX_TEXT_LENGTH - 1].rstrip() + "…"
        metadata["truncated"] = True
    media: list[InboundMedia] = []
    for index, part in enumerate(_leaf_parts(msg), start=1):
        if _is_body_text(part) or len(media) >= MAX_ATTACHMENTS:
            continue
        item = _attachment(part, index)
        if item is not None:
            media.append(item)
    content: dict[str, Any]
    if text or not media:
        content = {"type": "text", "text": text or metadata["subject"] or "(empty email)"}
    else:
        # A mail that is only files: the first one is the message, as on chat channels.
        content = {"type": media[0].kind}
        if media[0].kind == "document" and media[0].filename:
            content["filename"] = media[0].filename
    return InboundMessage(
        provider_message_id=metadata["messageId"],
        sender=sender,
        sender_name=" ".join(name.split())[:200],
        content=content,
        # Not the Date header: it is the sender's clock, to the second, and
        # would order the customer's reply before the agent message it answers.
        received_at=None,
        media=tuple(media),
        metadata=metadata,
        reply_to_provider_id=metadata["inReplyTo"] or None,
    )


def parse_email(raw: bytes, config: dict[str, Any]) -> list[InboundEvent]:
    """Events of one raw email received on a channel with `config`."""
    if not raw.strip():
        raise InvalidPayload("The body is empty; send the raw message (message/rfc822).")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)  # policy.default builds EmailMessage objects
    name, sender = _address(msg, "From")
    if "@" not in sender:
        raise InvalidPayload("The message has no From address.")
    our_address = str(config.get("fromEmail") or "").lower()
    our_domain = our_address.rsplit("@", 1)[-1]
    if msg.get_content_type() == "multipart/report":
        if msg.get_param("report-type", "").lower() == "delivery-status":
            return _dsn_events(msg, our_domain)
        return [Ignored("report", msg.get_param("report-type", "") or "unknown report")]
    if our_address and sender == our_address:
        return [Ignored("own_message", provider_id(msg, raw))]
    if _is_bounce(msg, sender):
        return [Ignored("bounce", f"from {sender}")]
    reason = _is_automatic(msg)
    if reason:
        return [Ignored("auto_reply", reason)]
    return [_customer_message(msg, raw, name, sender)]
