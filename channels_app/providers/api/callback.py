"""Signed POSTs to an API channel's callback URL, and the channel check built on them.

The integrator's own endpoint (`callbackUrl`) is the API channel's provider.
Every request to it goes through the outbound-webhook pieces
(`messaging.webhooks`): the same SSRF guard, the same transport pinned to the
checked address with no redirects, and the same `X-Inbox-Signature` scheme
(HMAC-SHA256 of "{timestamp}.{body}" with the channel's `callbackSecret`,
when it has one).

`post_event` is that signed POST; `answer_to_result` turns the answer into a
`SendResult` (408/425/429/5xx and no answer are transient, 429 with its
Retry-After; any other non-2xx is permanent as `CALLBACK_<status>`).
`ApiCallbackProvider.check` (`POST /channels/:id/test`) POSTs a `test.ping`
and reports success on a 2xx; `ApiChannelProvider` in `provider.py` inherits it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from channels_app.providers.base import CheckResult, SendResult
from channels_app.providers.http import HttpResponse, failure_result, timeout_seconds
from inbox.errors import ValidationFailed
from messaging.webhooks.signing import compute_signature
from messaging.webhooks.transport import AttemptResult, post_json
from messaging.webhooks.urls import check_destination

CHECK_TIMEOUT_SECONDS = 5.0
TEST_EVENT = "test.ping"
USER_AGENT = "Inbox-Channels/1.0"


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(
    config: dict[str, Any], event: str, timestamp: int, body: bytes
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Inbox-Event": event,
        "X-Inbox-Timestamp": str(timestamp),
    }
    secret = config.get("callbackSecret")
    if isinstance(secret, str) and secret:
        headers["X-Inbox-Signature"] = compute_signature(secret, timestamp, body)
    return headers


class RefusedUrl(Exception):
    """The callback URL fails the SSRF guard (or is missing): a configuration error."""


def post_event(
    config: dict[str, Any],
    event: str,
    payload: dict[str, Any],
    *,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> AttemptResult:
    """POST `payload` signed to the callback URL; raises RefusedUrl before any request.

    `timestamp` (Unix seconds, default now) goes in `X-Inbox-Timestamp` and
    is what the signature covers with the body.
    """
    try:
        # Checked at every call: the name may resolve somewhere else by now.
        destination = check_destination(config.get("callbackUrl") or "")
    except ValidationFailed as exc:
        raise RefusedUrl(exc.message) from exc
    timestamp = timestamp if timestamp is not None else int(time.time())
    body = encode(payload)
    headers = {**signed_headers(config, event, timestamp, body), **(extra_headers or {})}
    seconds = timeout if timeout is not None else timeout_seconds()
    return post_json(destination, body, headers, timeout=seconds)


def answer_json(result: AttemptResult) -> Any:
    try:
        return json.loads(result.response_body or "null")
    except ValueError:
        return None


def error_reason(result: AttemptResult) -> str:
    """The integrator's explanation: `error.message`, a string `error`/`message`, or the body."""
    data = answer_json(result)
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
            return error["message"]
        for key in ("error", "message"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
    text = result.response_body.strip()
    return text[:1000] if text else result.error


def answer_to_result(result: AttemptResult, fallback_id: str) -> SendResult:
    """A SendResult for the answer: a 2xx is sent (as the answer's `id`, else `fallback_id`)."""
    if result.status_code is None:
        # No answer (refused connection, timeout): worth another try.
        return SendResult.failed("CALLBACK_UNREACHABLE", result.error, retryable=True)
    if result.ok:
        data = answer_json(result)
        their_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(their_id, str | int) and not isinstance(their_id, bool) and str(their_id):
            return SendResult.sent(str(their_id)[:255])
        return SendResult.sent(fallback_id)
    response = HttpResponse(
        status=result.status_code, headers=result.headers, body=result.response_body.encode()
    )
    reason = error_reason(result)
    if 300 <= result.status_code < 400:
        reason = f"The callback answered HTTP {result.status_code}; redirects are not followed."
    return failure_result(response, f"CALLBACK_{result.status_code}", reason)


class ApiCallbackProvider:
    channel_type = "api"

    def check(self, config: dict[str, Any]) -> CheckResult:
        timestamp = int(time.time())
        try:
            result = post_event(
                config,
                TEST_EVENT,
                {"event": TEST_EVENT, "timestamp": timestamp},
                timestamp=timestamp,
                timeout=CHECK_TIMEOUT_SECONDS,
            )
        except RefusedUrl as exc:
            # A URL we refuse to call is a configuration error, like a bad credential.
            return CheckResult.failure(str(exc), rejected=True)
        if result.ok:
            return CheckResult.success()
        rejected = result.status_code is not None and 400 <= result.status_code < 500
        return CheckResult.failure(result.error, rejected=rejected)
