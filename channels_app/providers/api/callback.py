"""The generic API channel: the integrator's own endpoint (`callbackUrl`) is the provider.

Only `check` exists so far (`POST /channels/:id/test`): it POSTs a small
signed JSON ping to the callback URL and reports success on a 2xx. Sending
through the callback comes with the API channel's provider; until then
`registry.provider_for` keeps answering None for an API channel with a
callback URL, so this class is registered as a checker only.

The request goes through the outbound-webhook pieces (`messaging.webhooks`):
the same SSRF guard, the same transport pinned to the checked address with no
redirects, and the same `X-Inbox-Signature` scheme (HMAC-SHA256 of
"{timestamp}.{body}" with the channel's `callbackSecret`, when it has one).
"""

from __future__ import annotations

import json
import time
from typing import Any

from channels_app.providers.base import CheckResult
from inbox.errors import ValidationFailed
from messaging.webhooks.signing import compute_signature
from messaging.webhooks.transport import post_json
from messaging.webhooks.urls import check_destination

CHECK_TIMEOUT_SECONDS = 5.0
TEST_EVENT = "test.ping"


def ping_body(timestamp: int) -> bytes:
    return json.dumps({"event": TEST_EVENT, "timestamp": timestamp}, separators=(",", ":")).encode()


class ApiCallbackProvider:
    channel_type = "api"

    def check(self, config: dict[str, Any]) -> CheckResult:
        try:
            destination = check_destination(config.get("callbackUrl") or "")
        except ValidationFailed as exc:
            # A URL we refuse to call is a configuration error, like a bad credential.
            return CheckResult.failure(exc.message, rejected=True)
        timestamp = int(time.time())
        body = ping_body(timestamp)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Inbox-Channels/1.0",
            "X-Inbox-Event": TEST_EVENT,
            "X-Inbox-Timestamp": str(timestamp),
        }
        secret = config.get("callbackSecret")
        if isinstance(secret, str) and secret:
            headers["X-Inbox-Signature"] = compute_signature(secret, timestamp, body)
        result = post_json(destination, body, headers, timeout=CHECK_TIMEOUT_SECONDS)
        if result.ok:
            return CheckResult.success()
        rejected = result.status_code is not None and 400 <= result.status_code < 500
        return CheckResult.failure(result.error, rejected=rejected)
