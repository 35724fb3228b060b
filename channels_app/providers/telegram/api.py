"""Calling the Telegram Bot API: method URLs, answers, and what a failure means.

Every method is `POST {base}/bot{token}/{method}` with a JSON body; files
are downloaded from `{base}/file/bot{token}/{file_path}`
(https://core.telegram.org/bots/api#making-requests). Telegram answers
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": 403,
"description": "Forbidden: bot was blocked by the user", "parameters":
{"retry_after": 5}}`, with the HTTP status equal to `error_code`.

Flood control (429) carries `parameters.retry_after`, which we honour; 5xx
and timeouts are transient too. Any other 4xx (chat not found, blocked,
wrong file identifier) is permanent and reported as `TELEGRAM_<code>` with
Telegram's description.

The bot token is part of every URL, so it can surface in a transport error
(urllib3 quotes the URL): `scrub` takes it out of anything we record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels_app.providers import http
from channels_app.providers.base import SendResult

BASE_URL_SETTING = "TELEGRAM_API_BASE_URL"
TOKEN_PLACEHOLDER = "<bot-token>"


@dataclass(frozen=True)
class Answer:
    """One Bot API answer: a result, or why there is none."""

    ok: bool
    result: Any = None
    # The HTTP status; 0 when no answer came back at all (timeout, refused).
    status: int = 0
    error_code: int | None = None
    description: str = ""
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        return self.status == 0 or http.is_transient(self.status)

    @property
    def code(self) -> str:
        if self.status == 0:
            return "PROVIDER_UNREACHABLE"
        return f"TELEGRAM_{self.error_code or self.status}"

    @property
    def reason(self) -> str:
        return self.description or f"Telegram answered HTTP {self.status}."


def token(config: dict[str, Any]) -> str:
    return str(config.get("botToken") or "")


def scrub(text: str, config: dict[str, Any]) -> str:
    """`text` without the bot token, fit to store or log."""
    secret = token(config)
    return text.replace(secret, TOKEN_PLACEHOLDER) if secret else text


def method_url(config: dict[str, Any], method: str) -> str:
    return f"{http.base_url(config, BASE_URL_SETTING)}/bot{token(config)}/{method}"


def file_url(config: dict[str, Any], file_path: str) -> str:
    return f"{http.base_url(config, BASE_URL_SETTING)}/file/bot{token(config)}/{file_path}"


def call(config: dict[str, Any], method: str, params: dict[str, Any]) -> Answer:
    """Call one Bot API method; never raises for HTTP or transport trouble."""
    if not token(config):
        return Answer(
            ok=False, status=400, error_code=400, description="The channel has no botToken."
        )
    try:
        response = http.request("POST", method_url(config, method), json=params)
    except http.TransportError as exc:
        return Answer(ok=False, status=0, description=scrub(str(exc), config))
    return answer_from(response, config)


def answer_from(response: http.HttpResponse, config: dict[str, Any]) -> Answer:
    body = response.json()
    if not isinstance(body, dict):
        body = {}
    if response.ok and body.get("ok") is True:
        return Answer(ok=True, result=body.get("result"), status=response.status)
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    retry_after = parameters.get("retry_after")
    if isinstance(retry_after, bool) or not isinstance(retry_after, int | float):
        retry_after = http.retry_after(response) if response.status == 429 else None
    error_code = body.get("error_code")
    description = scrub(str(body.get("description") or ""), config)
    if response.ok:
        # A 2xx that is not `{"ok": true}`: not the Bot API talking.
        description = description or "Telegram's answer was not {'ok': true, 'result': ...}."
    migrate_to = parameters.get("migrate_to_chat_id")
    if migrate_to is not None:
        # The group became a supergroup with a new id; say which.
        description = f"{description} (migrate_to_chat_id={migrate_to})"
    return Answer(
        ok=False,
        status=response.status,
        error_code=error_code if isinstance(error_code, int) else None,
        description=description[:1000],
        retry_after=float(retry_after) if retry_after is not None else None,
    )


def failure(answer: Answer) -> SendResult:
    """The SendResult for a failed call: transient ones retry, with Telegram's delay."""
    transient = answer.transient
    return SendResult.failed(
        answer.code,
        answer.reason,
        retryable=transient,
        retry_after_seconds=answer.retry_after if transient else None,
    )
