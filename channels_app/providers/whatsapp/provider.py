"""The WhatsApp Cloud API provider: sends, reactions, checks, webhooks and media.

All calls go to the Graph API base (`WHATSAPP_API_BASE_URL`, or the
channel's `apiBaseUrl`) with `Authorization: Bearer <accessToken>`:

- send / react: POST `{base}/{phoneNumberId}/messages`; the answer's
  `messages[0].id` (a wamid) is the provider id statuses refer to;
- check: GET `{base}/{phoneNumberId}?fields=display_phone_number,verified_name`;
- media: GET `{base}/{media-id}` answers a short-lived `url`, which is then
  downloaded with the same Bearer header.

Webhooks are Meta's: the `hub.challenge` handshake with `verifyToken`, and
`X-Hub-Signature-256` signed with the app secret (`appSecret`).
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
    OutboundReaction,
    SendResult,
    WebhookReply,
)
from channels_app.providers.meta import webhooks
from channels_app.providers.meta.graph import (
    TRANSIENT_CODES,
    auth_headers,
    graph_error,
    graph_failure,
)
from channels_app.providers.whatsapp.inbound import parse_webhook
from channels_app.providers.whatsapp.payloads import (
    UnsupportedContent,
    message_payload,
    reaction_payload,
)

BASE_URL_SETTING = "WHATSAPP_API_BASE_URL"
# Inbound files are kept up to 100 MB (WhatsApp documents' own limit).
MEDIA_MAX_BYTES = 100 * 1024 * 1024


def _url(config: dict[str, Any], *parts: str) -> str:
    return "/".join([http.base_url(config, BASE_URL_SETTING), *(quote(p, safe="") for p in parts)])


def _missing(config: dict[str, Any]) -> str:
    missing = [key for key in ("phoneNumberId", "accessToken") if not config.get(key)]
    return f"The channel's config lacks {', '.join(missing)}." if missing else ""


class WhatsAppProvider:
    channel_type = "whatsapp"

    # --- Outbound -------------------------------------------------------------

    def send(self, outbound: Outbound) -> SendResult:
        try:
            payload = message_payload(outbound.to, outbound.content, outbound.reply_to_external_id)
        except UnsupportedContent as exc:
            return SendResult.failed("UNSUPPORTED_CONTENT", str(exc))
        return self._post_message(outbound.config, payload)

    def react(self, reaction: OutboundReaction) -> SendResult:
        emoji = "" if reaction.operation == "remove" else reaction.emoji
        return self._post_message(
            reaction.config, reaction_payload(reaction.to, reaction.external_id, emoji)
        )

    def _post_message(self, config: dict[str, Any], payload: dict[str, Any]) -> SendResult:
        problem = _missing(config)
        if problem:
            return SendResult.failed("CHANNEL_MISCONFIGURED", problem)
        try:
            response = http.request(
                "POST",
                _url(config, str(config["phoneNumberId"]), "messages"),
                json=payload,
                headers=auth_headers(config),
            )
        except http.TransportError as exc:
            return http.transport_failure(exc)
        if not response.ok:
            return graph_failure(response)
        body = response.json()
        messages = body.get("messages") if isinstance(body, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(message_id, str) or not message_id:
            # Accepted, perhaps: retrying could send it twice, so it is not retried.
            return SendResult.failed(
                "INVALID_RESPONSE", "WhatsApp accepted the request without a message id."
            )
        return SendResult.sent(message_id)

    def check(self, config: dict[str, Any]) -> CheckResult:
        problem = _missing(config)
        if problem:
            return CheckResult.failure(problem, rejected=True)
        url = _url(config, str(config["phoneNumberId"]))
        try:
            response = http.request(
                "GET",
                f"{url}?fields=display_phone_number,verified_name",
                headers=auth_headers(config),
            )
        except http.TransportError as exc:
            return CheckResult.failure(str(exc))
        if response.ok:
            return CheckResult.success()
        code, message = graph_error(response)
        error = f"WhatsApp answered HTTP {response.status}" + (f": {message}" if message else ".")
        # Throttling and Meta's own trouble say nothing about the credentials.
        transient = http.is_transient(response.status) or code in TRANSIENT_CODES
        return CheckResult.failure(error, rejected=not transient)

    # --- Inbound --------------------------------------------------------------

    def handshake(self, request: InboundRequest, config: dict[str, Any]) -> WebhookReply | None:
        return webhooks.handshake(request, config)

    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool:
        return webhooks.verify_signature(request, config)

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
        return parse_webhook(request, config)

    def fetch_media(self, media: InboundMedia, config: dict[str, Any]) -> FetchedMedia:
        """Ask Graph for the media id's download URL, then download it with the token."""
        if not config.get("accessToken"):
            raise MediaFetchError("The channel has no access token.")
        if not media.ref:
            raise MediaFetchError("The webhook named no media id.")
        info = _get(_url(config, media.ref), config, max_bytes=http.DEFAULT_MAX_BYTES)
        body = info.json()
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise MediaFetchError("WhatsApp's media answer has no download URL.")
        size = body.get("file_size")
        if str(size).isdigit() and int(size) > MEDIA_MAX_BYTES:
            raise MediaFetchError(f"The file is {size} bytes; files up to 100 MB are kept.")
        download = _get(url, config, max_bytes=MEDIA_MAX_BYTES, follow_redirects=True, accept="*/*")
        mime_type = str(body.get("mime_type") or "") or media.mime_type
        return FetchedMedia(data=download.body, mime_type=mime_type, filename=media.filename)


def _get(
    url: str,
    config: dict[str, Any],
    *,
    max_bytes: int,
    follow_redirects: bool = False,
    accept: str = "application/json",
) -> http.HttpResponse:
    """A GET with the channel's token; failures as MediaFetchError, retryable when transient."""
    try:
        response = http.request(
            "GET",
            url,
            headers={**auth_headers(config), "Accept": accept},
            max_bytes=max_bytes,
            follow_redirects=follow_redirects,
        )
    except http.TransportError as exc:
        raise MediaFetchError(str(exc), retryable=True) from exc
    if response.ok:
        return response
    code, message = graph_error(response)
    reason = f"WhatsApp answered HTTP {response.status}" + (f": {message}" if message else ".")
    transient = http.is_transient(response.status) or code in TRANSIENT_CODES
    raise MediaFetchError(reason, retryable=transient)


PROVIDER = WhatsAppProvider
