"""The sandbox provider: accepts every send without talking to anyone.

Used by channels configured with `"sandbox": true` (the demo workspace) and by
`api` channels that have no callback URL, so the whole status path is real
without a provider account.
"""

from __future__ import annotations

import secrets
from typing import Any

from channels_app.providers.base import CheckResult, Outbound, SendResult


class SandboxProvider:
    channel_type = "sandbox"

    def send(self, outbound: Outbound) -> SendResult:
        return SendResult.sent(f"sbx_{secrets.token_hex(12)}")

    def check(self, config: dict[str, Any]) -> CheckResult:
        # Nothing outside to ask: a sandbox channel always works.
        return CheckResult.success()
