"""The provider contract: what every channel integration implements.

Providers see plain data (`Outbound`), never the messaging models, and answer
a `SendResult`; the delivery task turns that into the message's status.

A provider may also implement `check(config) -> CheckResult` (the
`CheckableProvider` protocol): a cheap call that proves the credentials work,
used by `POST /channels/:id/test` through `channels_app.services.check_channel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


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
    def failed(cls, code: str, message: str, *, retryable: bool = False) -> SendResult:
        return cls(ok=False, error_code=code, error_message=message, retryable=retryable)


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


class Provider(Protocol):
    channel_type: str

    def send(self, outbound: Outbound) -> SendResult: ...


class CheckableProvider(Protocol):
    """The optional part of the contract: a provider that can test its config."""

    def check(self, config: dict[str, Any]) -> CheckResult: ...
