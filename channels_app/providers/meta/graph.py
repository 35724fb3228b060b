"""Graph API calls and error handling shared by Meta's messaging products.

Errors come back as `{"error": {"message", "type", "code", "error_subcode",
"error_data": {"details"}, "fbtrace_id"}}`. Whether to retry is decided by
the code as much as by the HTTP status: Meta answers throttling with 400
and codes 4, 80007, 130429 or 131056, and temporary trouble with codes 1, 2
and 131000; those are transient, other 4xx codes are permanent.
"""

from __future__ import annotations

from typing import Any

from channels_app.providers.base import SendResult
from channels_app.providers.http import HttpResponse, failure_result, retry_after

# Error codes Meta documents as throttling or temporary (retry later).
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131056, 133004})


def auth_headers(config: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.get('accessToken') or ''}"}


def graph_error(response: HttpResponse) -> tuple[int | None, str]:
    """(code, message) from a Graph API error body, tolerating anything else."""
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code = error.get("code")
    message = str(error.get("message") or "")
    details = (
        (error.get("error_data") or {}).get("details")
        if isinstance(error.get("error_data"), dict)
        else None
    )
    if details:
        message = f"{message} ({details})" if message else str(details)
    return (code if isinstance(code, int) else None), message


def graph_failure(response: HttpResponse) -> SendResult:
    """A SendResult for a failed Graph call: Meta's code and message, retry when transient."""
    code, message = graph_error(response)
    if code is None:
        return failure_result(response, f"HTTP_{response.status}", message)
    transient = code in TRANSIENT_CODES or response.status >= 500
    return SendResult.failed(
        str(code),
        message or f"The Graph API answered HTTP {response.status}.",
        retryable=transient,
        retry_after_seconds=retry_after(response) if transient else None,
    )
