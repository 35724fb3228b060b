"""Sending on a webchat channel: the message is already where the widget reads it.

The widget fetches and streams messages from our own database, so handing a
message to the "provider" is storing it; it counts as sent at once and the
widget's own receipts move it to delivered and read.
"""

from __future__ import annotations

from typing import Any

from channels_app.providers.base import CheckResult, Outbound, SendResult


class WebchatProvider:
    channel_type = "webchat"

    def send(self, outbound: Outbound) -> SendResult:
        return SendResult.sent(f"wc_{outbound.message_id}")

    def check(self, config: dict[str, Any]) -> CheckResult:
        return CheckResult.success()
