"""One webhook HTTP POST, with a timeout, no redirects, and the answer truncated.

Connects to the address the SSRF guard checked (`Destination.address`) while
sending the real host name in `Host` and in TLS (SNI and certificate check),
so the name cannot be re-resolved to an internal address between the check
and the connection. Redirects are not followed: a 3xx is a failed attempt,
because following it would leave the checked address.

Callers run this outside any database transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import urllib3

from messaging.webhooks.urls import Destination

# What we keep of the endpoint's answer.
RESPONSE_BODY_LIMIT = 2048
USER_AGENT = "Inbox-Webhooks/1.0"


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    response_body: str
    error: str
    duration_ms: int
    # The answer's headers, names lower-cased (the API channel reads Retry-After).
    headers: dict[str, str] = field(default_factory=dict)


def _host_header(destination: Destination) -> str:
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    default = 443 if destination.scheme == "https" else 80
    return host if destination.port == default else f"{host}:{destination.port}"


def _pool(destination: Destination, timeout: float) -> urllib3.HTTPConnectionPool:
    connect_to = destination.address or destination.host
    options = {
        "port": destination.port,
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        "retries": False,
        "maxsize": 1,
    }
    if destination.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            connect_to,
            server_hostname=destination.host,
            assert_hostname=destination.host,
            cert_reqs="CERT_REQUIRED",
            **options,
        )
    return urllib3.HTTPConnectionPool(connect_to, **options)


def post_json(
    destination: Destination, body: bytes, headers: dict[str, str], *, timeout: float
) -> AttemptResult:
    """POST `body`; 2xx is success, anything else (or no answer in time) a failure."""
    started = time.monotonic()
    pool = _pool(destination, timeout)
    try:
        response = pool.urlopen(
            "POST",
            destination.path,
            body=body,
            headers={**headers, "Host": _host_header(destination)},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            # Read a little more than we keep, never the whole of a huge answer.
            raw = response.read(RESPONSE_BODY_LIMIT, decode_content=True)
        except urllib3.exceptions.HTTPError:
            raw = b""
        finally:
            response.release_conn()
        status = response.status
        ok = 200 <= status < 300
        return AttemptResult(
            ok=ok,
            status_code=status,
            response_body=raw[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace"),
            error="" if ok else f"The endpoint answered HTTP {status}.",
            duration_ms=_elapsed_ms(started),
            headers={name.lower(): value for name, value in response.headers.items()},
        )
    except urllib3.exceptions.NewConnectionError as exc:
        # Checked first: urllib3 makes it a subclass of ConnectTimeoutError.
        error = f"Network error: {exc}"
    except urllib3.exceptions.TimeoutError:
        error = f"No answer within {timeout:g} s."
    except urllib3.exceptions.SSLError as exc:
        error = f"TLS error: {exc}"
    except urllib3.exceptions.HTTPError as exc:
        # Connection refused, reset, DNS failure, protocol errors.
        reason = getattr(exc, "reason", None) or exc
        error = f"Network error: {reason}"
    finally:
        pool.close()
    return AttemptResult(
        ok=False,
        status_code=None,
        response_body="",
        error=error[:1000],
        duration_ms=_elapsed_ms(started),
    )


def _elapsed_ms(started: float) -> int:
    return max(0, int((time.monotonic() - started) * 1000))
