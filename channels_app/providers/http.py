"""The HTTP client every provider uses: timeouts, size limits and error classes.

One urllib3 pool manager per process (thread-safe, keeps connections to the
provider alive). Providers call `request`, then turn a non-2xx answer into a
`SendResult` with `failure_result`, which decides what is worth retrying:
timeouts, connection errors, 408, 429 (with the provider's Retry-After) and
5xx are transient; any other 4xx is permanent.

Base URLs come from settings (`WHATSAPP_API_BASE_URL`, ...) so tests and
local demos can point a provider at a local stand-in; a channel may override
its own with the `apiBaseUrl` config key.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import urllib3
from django.conf import settings
from django.utils import timezone

from channels_app.providers.base import SendResult

USER_AGENT = "Inbox-Channels/1.0"
# Answers from provider APIs are small JSON documents; media has its own cap.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024

_pool = urllib3.PoolManager(num_pools=32, maxsize=4, retries=False)


class TransportError(Exception):
    """No HTTP answer: connection refused, DNS failure, timeout, or a body too large."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return jsonlib.loads(self.body or b"null")
        except ValueError:
            return None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def timeout_seconds() -> float:
    return float(getattr(settings, "PROVIDER_HTTP_TIMEOUT_SECONDS", 10))


def base_url(config: dict[str, Any], setting_name: str) -> str:
    """The provider's base URL for a channel: its `apiBaseUrl`, else the setting."""
    value = config.get("apiBaseUrl") or getattr(settings, setting_name)
    return str(value).rstrip("/")


def request(
    method: str,
    url: str,
    *,
    json: Any = None,
    form: dict[str, Any] | list[tuple[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    basic_auth: tuple[str, str] | None = None,
    timeout: float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    follow_redirects: bool = False,
) -> HttpResponse:
    """One HTTP request; raises TransportError when no complete answer came back."""
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    body: bytes | None = None
    if json is not None:
        body = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
        all_headers["Content-Type"] = "application/json"
    elif form is not None:
        body = urlencode(form, doseq=True).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    if basic_auth is not None:
        all_headers.update(urllib3.make_headers(basic_auth=f"{basic_auth[0]}:{basic_auth[1]}"))
    all_headers.update(headers or {})
    seconds = timeout if timeout is not None else timeout_seconds()
    try:
        response = _pool.request(
            method,
            url,
            body=body,
            headers=all_headers,
            timeout=urllib3.Timeout(connect=seconds, read=seconds),
            redirect=follow_redirects,
            # Redirects only: `total=False` would turn redirects off too, and
            # urllib3 drops Authorization when a redirect leaves the host.
            retries=(
                urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5)
                if follow_redirects
                else False
            ),
            preload_content=False,
        )
        try:
            data = response.read(max_bytes + 1, decode_content=True)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    if len(data) > max_bytes:
        raise TransportError(f"The answer is larger than {max_bytes} bytes.")
    return HttpResponse(
        status=response.status,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=data,
    )


def retry_after(response: HttpResponse) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    value = response.header("retry-after").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def is_transient(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def failure_result(response: HttpResponse, code: str, message: str) -> SendResult:
    """A SendResult for a non-2xx answer, retryable when the status says so."""
    transient = is_transient(response.status)
    return SendResult.failed(
        code or f"HTTP_{response.status}",
        message or f"The provider answered HTTP {response.status}.",
        retryable=transient,
        retry_after_seconds=retry_after(response) if response.status == 429 else None,
    )


def transport_failure(exc: TransportError) -> SendResult:
    return SendResult.failed("PROVIDER_UNREACHABLE", str(exc), retryable=True)
