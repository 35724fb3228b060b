"""Outbound email as MIME (RFC 5322 / 2045-2049), built with the stdlib `email` package.

The Message-ID is derived from our message id, so every attempt at one
message carries the same id: mail servers and clients dedupe on it, and the
customer's reply names it in In-Reply-To, which threads the reply back to
our message. In-Reply-To and References carry the conversation's earlier
Message-IDs (RFC 5322 section 3.6.4) so the customer's client keeps the
reply in their thread.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from html import escape
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from channels_app.providers import http
from channels_app.providers.base import Outbound, SendResult
from channels_app.providers.email.inbound import message_ids

# What mail servers commonly accept in one message (Gmail's limit is 25 MB).
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MEDIA_TYPES = ("image", "video", "audio", "document")
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class AttachedFile:
    data: bytes
    filename: str
    mime_type: str


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def message_id_for(outbound: Outbound) -> str:
    """`<our id@our domain>`: the same for every attempt at this message."""
    key = outbound.idempotency_key or outbound.message_id
    return f"<{key}@{domain_of(str(outbound.config['fromEmail']))}>"


def subject_for(outbound: Outbound) -> str:
    """The subject: "Re: <thread subject>" on a reply, a new thread's own otherwise."""
    subject = " ".join(outbound.thread.subject.split())
    if outbound.thread.references:
        base = subject or _default_subject(outbound)
        return base if _REPLY_PREFIX.match(base) else f"Re: {base}"
    own = " ".join(str(outbound.metadata.get("subject") or "").split())
    return own or subject or _default_subject(outbound)


def _default_subject(outbound: Outbound) -> str:
    name = outbound.sender_name or outbound.config.get("fromName") or outbound.config["fromEmail"]
    return " ".join(f"Message from {name}".split())


def body_text(content: dict[str, Any]) -> str:
    if content.get("type") == "text":
        return str(content.get("text") or "")
    return str(content.get("caption") or "")


def _filename(content: dict[str, Any], url: str, mime_type: str) -> str:
    name = str(content.get("filename") or "")
    if not name:
        name = unquote(PurePosixPath(urlsplit(url).path).name)
    if not name or "." not in name:
        extension = mimetypes.guess_extension(mime_type) or ""
        name = f"{name or content.get('type', 'attachment')}{extension}"
    # A file name is a header parameter: no path, no control characters.
    return re.sub(r"[\x00-\x1f/\\]+", "_", name)[:200]


def download_attachment(content: dict[str, Any]) -> AttachedFile | SendResult:
    """The file a media message points at, or the failure that stops the send."""
    url = str(content.get("url") or "")
    try:
        response = http.request(
            "GET",
            url,
            headers={"Accept": "*/*"},
            max_bytes=MAX_ATTACHMENT_BYTES,
            follow_redirects=True,
        )
    except http.TransportError as exc:
        if str(exc).startswith("The answer is larger"):
            return SendResult.failed(
                "ATTACHMENT_TOO_LARGE",
                f"The file at {url} is over {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
            )
        return SendResult.failed("ATTACHMENT_UNREACHABLE", str(exc), retryable=True)
    if not response.ok:
        return http.failure_result(
            response,
            "ATTACHMENT_DOWNLOAD_FAILED",
            f"Downloading the file {url} answered HTTP {response.status}.",
        )
    mime_type = response.header("content-type").split(";", 1)[0].strip().lower()
    if not mime_type or "/" not in mime_type or mime_type == "application/octet-stream":
        guessed = mimetypes.guess_type(str(content.get("filename") or urlsplit(url).path))[0]
        mime_type = guessed or "application/octet-stream"
    return AttachedFile(
        data=response.body, filename=_filename(content, url, mime_type), mime_type=mime_type
    )


def _html_alternative(text: str) -> str:
    paragraphs = [escape(p).replace("\n", "<br>\n") for p in re.split(r"\n\s*\n", text) if p]
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    head = '<!DOCTYPE html>\n<html><body style="font-family: sans-serif">'
    return f"{head}\n{body}\n</body></html>\n"


def build_email(outbound: Outbound, attachment: AttachedFile | None = None) -> EmailMessage:
    """The message as it goes on the wire, headers and parts, for `outbound`."""
    config = outbound.config
    # Collapsed to one line: a header value must not carry a line break.
    sender_name = " ".join((outbound.sender_name or str(config.get("fromName") or "")).split())
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((sender_name, str(config["fromEmail"])))
    msg["To"] = Address(addr_spec=outbound.to.strip())
    msg["Subject"] = subject_for(outbound)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id_for(outbound)
    references = [ref for ref in outbound.thread.references if message_ids(ref) == [ref]]
    parent = outbound.reply_to_external_id
    if not (parent and message_ids(parent) == [parent]):
        parent = references[-1] if references else None
    if parent:
        msg["In-Reply-To"] = parent
        if parent not in references:
            references.append(parent)
        msg["References"] = " ".join(references)
    text = body_text(outbound.content)
    msg.set_content(text + "\n" if text else "")
    if text:
        msg.add_alternative(_html_alternative(text), subtype="html")
    if attachment is not None:
        major, _, minor = attachment.mime_type.partition("/")
        msg.add_attachment(
            attachment.data, maintype=major, subtype=minor, filename=attachment.filename
        )
    return msg
