"""The provider contract: what every channel integration implements.

Providers see plain data, never the messaging models. Outbound, they take an
`Outbound` and answer a `SendResult`; the delivery task turns that into the
message's status. Inbound, the webhook endpoint hands them an
`InboundRequest` (method, URL, headers, body): they `verify` it, then `parse`
it into neutral events (`InboundMessage`, `InboundStatus`, `InboundReaction`,
`InboundReadUpTo`, `Ignored`) that `messaging.services.inbound` applies
through the services. `InboundReadUpTo` is a receipt given as a time rather
than message ids (Messenger's read and delivery watermarks): everything sent
to the sender up to then was read (or delivered).

Every method beyond `send` is optional; the registry and the services ask
with `hasattr`, so a provider only implements what its platform offers:

- `verify(request, config) -> bool` and `parse(request, config) -> list[event]`
  for inbound webhooks; `handshake(request, config) -> WebhookReply | None`
  answers a subscription check (Meta's `hub.challenge`);
  `acknowledge(events) -> WebhookReply | None` gives the reply a provider
  wants on success, given the events just parsed and applied (`[]` when the
  channel is inactive and nothing was): Twilio's empty TwiML, or Telegram's
  answerCallbackQuery carried in the reply. None means the default
  `{"received": true}`.
- `fetch_media(media, config) -> FetchedMedia` downloads an inbound file
  the webhook only referenced (WhatsApp media ids, Telegram file ids).
- `check(config) -> CheckResult`: a cheap call proving the credentials work.
- `activate(config, webhook_url) -> ActivationResult`: register our webhook
  with the provider when the channel is activated (Telegram's setWebhook).
- `edit(change)`, `delete(change)`, `react(reaction)` -> SendResult: carry an
  agent's edit, delete-for-everyone or reaction to the provider.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

# --- Capabilities -------------------------------------------------------------

ALL_CONTENT_TYPES = (
    "text",
    "image",
    "document",
    "audio",
    "video",
    "location",
    "buttons",
    "template",
)


@dataclass(frozen=True)
class Capabilities:
    """What a channel type can carry and do, from the provider's documentation."""

    content_types: frozenset[str]
    delivery_receipts: bool = False
    read_receipts: bool = False
    delete_for_everyone: bool = False
    # None means no time limit (where deleting is supported at all).
    delete_window_seconds: int | None = None
    edit: bool = False
    edit_window_seconds: int | None = None
    # Hours after the contact's last inbound message during which free-form
    # messages are allowed; None when the channel has no such window.
    message_window_hours: int | None = None
    reactions: bool = False
    quick_replies: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def supports(self, content_type: str) -> bool:
        return content_type in self.content_types

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["content_types"] = sorted(self.content_types)
        return data


# --- Outbound -----------------------------------------------------------------


@dataclass(frozen=True)
class ThreadContext:
    """What a threaded channel (email) needs to keep a reply in its thread."""

    subject: str = ""
    # Provider ids (email Message-IDs) of the conversation's earlier messages,
    # oldest first; the last one is what this message replies to.
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outbound:
    message_id: str
    channel_id: str
    channel_type: str
    config: dict[str, Any]
    to: str
    content: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    reply_to_external_id: str | None = None
    # Stable across every attempt at this message: providers with an
    # idempotency mechanism pass it on, so a re-sent message is not doubled.
    idempotency_key: str = ""
    thread: ThreadContext = field(default_factory=ThreadContext)
    # Display name of the channel's sender (email From name), when known.
    sender_name: str = ""
    # The channel's inbound webhook URL, for providers that take a status
    # callback URL per message (Twilio's StatusCallback).
    webhook_url: str = ""


@dataclass(frozen=True)
class MessageChange:
    """An edit or a delete-for-everyone of a message the provider already has."""

    message_id: str
    channel_type: str
    config: dict[str, Any]
    to: str
    external_id: str
    content: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundReaction:
    """An agent's reaction to a message the provider knows by `external_id`."""

    channel_type: str
    config: dict[str, Any]
    to: str
    external_id: str
    emoji: str
    # "add" or "remove".
    operation: str = "add"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_message_id: str | None = None
    # Transient failures (timeouts, 5xx, 429) are retried; permanent ones fail the message.
    retryable: bool = False
    error_code: str = ""
    error_message: str = ""
    retry_after_seconds: float | None = None

    @classmethod
    def sent(cls, provider_message_id: str) -> SendResult:
        return cls(ok=True, provider_message_id=provider_message_id)

    @classmethod
    def failed(
        cls,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after_seconds: float | None = None,
    ) -> SendResult:
        return cls(
            ok=False,
            error_code=code,
            error_message=message,
            retryable=retryable,
            retry_after_seconds=retry_after_seconds,
        )


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a provider check; `latency_ms` is filled in by the service."""

    ok: bool
    error: str = ""
    # The provider refused the credentials or the request (a 4xx): the channel
    # is misconfigured. False for timeouts and 5xx, where it may be fine.
    rejected: bool = False
    latency_ms: int | None = None

    @classmethod
    def success(cls) -> CheckResult:
        return cls(ok=True)

    @classmethod
    def failure(cls, error: str, *, rejected: bool = False) -> CheckResult:
        return cls(ok=False, error=error, rejected=rejected)


@dataclass(frozen=True)
class ActivationResult:
    ok: bool
    error: str = ""
    rejected: bool = False
    # Config keys the provider generated (a webhook secret), merged into the channel.
    config_updates: dict[str, Any] = field(default_factory=dict)


# --- Inbound ------------------------------------------------------------------


@dataclass(frozen=True)
class InboundRequest:
    """An HTTP request to a channel's webhook URL, as plain data.

    `url` is the absolute URL the provider called (Twilio signs it), built
    from SITE_URL when set, else from the request.
    """

    method: str
    url: str
    # Lower-cased header names.
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def form(self) -> dict[str, str]:
        """The body as form fields (last value wins), as Twilio posts them."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass(frozen=True)
class InboundMedia:
    """A file on an inbound message: bytes already here, or a reference to fetch."""

    # "image", "video", "audio", "document": the content type it belongs to.
    kind: str
    # Provider reference: a WhatsApp media id, a Telegram file_id, a URL.
    ref: str = ""
    data: bytes | None = None
    filename: str = ""
    mime_type: str = ""


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    mime_type: str = ""
    filename: str = ""


@dataclass(frozen=True)
class InboundMessage:
    provider_message_id: str
    # The sender's address on the channel: phone number, chat id, email, PSID.
    sender: str
    # Linktor content; media kinds may lack `url` until `media` is stored.
    content: dict[str, Any]
    sender_name: str = ""
    received_at: datetime | None = None
    media: tuple[InboundMedia, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    reply_to_provider_id: str | None = None


@dataclass(frozen=True)
class InboundStatus:
    provider_message_id: str
    # One of sent, delivered, read, failed.
    status: str
    at: datetime | None = None
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class InboundReaction:
    # The provider id of the message reacted to.
    provider_message_id: str
    sender: str
    # Empty when the sender removed their reaction.
    emoji: str
    at: datetime | None = None
    sender_name: str = ""


@dataclass(frozen=True)
class InboundReadUpTo:
    """A receipt as a time: every message sent to `sender` at or before `at` got `status`.

    Messenger's `read` (and a `delivery` without `mids`) names no messages,
    only a `watermark`; which of our messages it covers is for the services
    to work out.
    """

    sender: str
    at: datetime
    # "read", or "delivered" for a delivery watermark.
    status: str = "read"
    # When the receipt itself happened (the event's timestamp), if known.
    reported_at: datetime | None = None


@dataclass(frozen=True)
class Ignored:
    """An event kind we do not handle: acknowledged and logged, never an error."""

    kind: str
    detail: str = ""


InboundEvent = InboundMessage | InboundStatus | InboundReaction | InboundReadUpTo | Ignored


@dataclass(frozen=True)
class WebhookReply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class MediaFetchError(Exception):
    """`fetch_media` could not download a file; `retryable` for timeouts and 5xx."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class InvalidPayload(Exception):
    """A verified request whose body we cannot read: answered 400, recorded nowhere."""


# --- Protocols ------------------------------------------------------------------


class Provider(Protocol):
    channel_type: str

    def send(self, outbound: Outbound) -> SendResult: ...


class InboundProvider(Protocol):
    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool: ...

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]: ...


class CheckableProvider(Protocol):
    """The optional part of the contract: a provider that can test its config."""

    def check(self, config: dict[str, Any]) -> CheckResult: ...
