"""The provider contract: what every channel integration implements.

Providers see plain data (`Outbound`), never the messaging models, and answer
a `SendResult`; the delivery task turns that into the message's status.
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


class Provider(Protocol):
    channel_type: str

    def send(self, outbound: Outbound) -> SendResult: ...
