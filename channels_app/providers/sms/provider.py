"""SMS and MMS through Twilio's Programmable Messaging REST API.

- `send`: POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, form
  fields from `payloads`, HTTP basic auth with the Account SID and Auth Token.
  Twilio answers 201 with the Message resource; its `sid` is the provider id.
  Errors come as `{"code", "message", "more_info", "status"}`: 429 (20429)
  and 5xx are retried (429 after its Retry-After), other 4xx fail the message
  with Twilio's code and message (21211 invalid To, 21610 unsubscribed, ...).
- `verify` / `parse` / `acknowledge`: Twilio's signed form-encoded webhooks
  (`signature`, `inbound`), answered with empty TwiML so no reply is sent.
- `fetch_media`: download an MMS file from its `MediaUrl`.
- `check`: fetch the Account resource with the channel's credentials.

The base URL is the TWILIO_API_BASE_URL setting, or the channel's `apiBaseUrl`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from channels_app.providers import http
from channels_app.providers.base import (
    CheckResult,
    FetchedMedia,
    InboundEvent,
    InboundMedia,
    InboundRequest,
    MediaFetchError,
    Outbound,
    SendResult,
    WebhookReply,
)
from channels_app.providers.sms import inbound, signature
from channels_app.providers.sms.payloads import UnsupportedContent, message_form

API_VERSION = "2010-04-01"
# What we keep of a customer's file; Twilio itself caps MMS media far lower.
MEDIA_MAX_BYTES = 100 * 1024 * 1024
# An empty TwiML document: acknowledged, and Twilio sends no reply message.
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _credentials(config: dict[str, Any]) -> tuple[str, str]:
    return str(config.get("accountSid") or ""), str(config.get("authToken") or "")


def _account_url(config: dict[str, Any], account_sid: str) -> str:
    base = http.base_url(config, "TWILIO_API_BASE_URL")
    return f"{base}/{API_VERSION}/Accounts/{quote(account_sid, safe='')}"


def twilio_error(response: http.HttpResponse) -> tuple[str, str]:
    """Twilio's error `code` and `message` from an error answer, when it has them."""
    body = response.json()
    if not isinstance(body, dict):
        return "", ""
    code = body.get("code")
    message = body.get("message")
    return (str(code) if code not in (None, "") else ""), (str(message) if message else "")


class TwilioSmsProvider:
    channel_type = "sms"

    # --- Outbound -------------------------------------------------------------

    def send(self, outbound: Outbound) -> SendResult:
        account_sid, auth_token = _credentials(outbound.config)
        if not account_sid or not auth_token:
            return SendResult.failed(
                "CHANNEL_MISCONFIGURED", "The channel has no Twilio accountSid or authToken."
            )
        try:
            form = message_form(outbound)
        except UnsupportedContent as exc:
            return SendResult.failed("UNSUPPORTED_CONTENT", str(exc))
        url = f"{_account_url(outbound.config, account_sid)}/Messages.json"
        try:
            response = http.request("POST", url, form=form, basic_auth=(account_sid, auth_token))
        except http.TransportError as exc:
            return http.transport_failure(exc)
        if not response.ok:
            code, message = twilio_error(response)
            return http.failure_result(response, code, message)
        return self._created(response)

    def _created(self, response: http.HttpResponse) -> SendResult:
        message = response.json()
        sid = message.get("sid") if isinstance(message, dict) else None
        if not sid:
            # Twilio may have queued it: a retry could send it twice.
            return SendResult.failed(
                "INVALID_RESPONSE", "Twilio accepted the request but returned no message sid."
            )
        status = str(message.get("status") or "")
        if status in ("failed", "undelivered"):
            # Rare, but documented: the Message is created already failed.
            code = str(message.get("error_code") or "")
            reason = str(message.get("error_message") or "") or inbound.error_reason(code, status)
            return SendResult.failed(code or status.upper(), reason)
        return SendResult.sent(str(sid))

    # --- Inbound --------------------------------------------------------------

    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool:
        _, auth_token = _credentials(config)
        return signature.is_valid(request, auth_token)

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
        return inbound.parse_form(request)

    def acknowledge(self, events: list[InboundEvent]) -> WebhookReply:
        return WebhookReply(status=200, body=EMPTY_TWIML, content_type="text/xml")

    def fetch_media(self, media: InboundMedia, config: dict[str, Any]) -> FetchedMedia:
        """Download an MMS file; Twilio answers its MediaUrl with a redirect to its CDN.

        Media URLs need HTTP basic auth when the account enforces it, so the
        credentials go along, but only to Twilio's API host (the base URL):
        urllib3 drops them on a redirect to another host.
        """
        parts = urlsplit(media.ref)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MediaFetchError("The media reference is not an http(s) URL.")
        account_sid, auth_token = _credentials(config)
        api = urlsplit(http.base_url(config, "TWILIO_API_BASE_URL"))
        same_host = (parts.scheme, parts.netloc.lower()) == (api.scheme, api.netloc.lower())
        auth = (account_sid, auth_token) if same_host and account_sid and auth_token else None
        try:
            response = http.request(
                "GET",
                media.ref,
                headers={"Accept": "*/*"},
                basic_auth=auth,
                max_bytes=MEDIA_MAX_BYTES,
                follow_redirects=True,
            )
        except http.TransportError as exc:
            too_large = "larger than" in str(exc)
            raise MediaFetchError(
                f"Downloading the file failed: {exc}", retryable=not too_large
            ) from exc
        if not response.ok:
            raise MediaFetchError(
                f"Twilio answered HTTP {response.status} for the file.",
                retryable=http.is_transient(response.status),
            )
        mime = response.header("content-type").split(";", 1)[0].strip()
        return FetchedMedia(data=response.body, mime_type=mime or media.mime_type)

    # --- Configuration --------------------------------------------------------

    def check(self, config: dict[str, Any]) -> CheckResult:
        """Fetch the Account resource: proves the SID and token, and that it is active."""
        account_sid, auth_token = _credentials(config)
        if not account_sid or not auth_token:
            return CheckResult.failure("accountSid and authToken are required.", rejected=True)
        try:
            url = f"{_account_url(config, account_sid)}.json"
            response = http.request("GET", url, basic_auth=(account_sid, auth_token))
        except http.TransportError as exc:
            return CheckResult.failure(f"Twilio is unreachable: {exc}")
        if not response.ok:
            code, message = twilio_error(response)
            detail = f"{message} ({code})" if message and code else message or code
            return CheckResult.failure(
                f"Twilio answered HTTP {response.status}" + (f": {detail}" if detail else "."),
                rejected=not http.is_transient(response.status),
            )
        account = response.json()
        status = account.get("status") if isinstance(account, dict) else None
        if status and status != "active":
            return CheckResult.failure(f"The Twilio account is {status}.", rejected=True)
        return CheckResult.success()


PROVIDER = TwilioSmsProvider
