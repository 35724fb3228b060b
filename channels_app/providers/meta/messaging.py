"""What Messenger and Instagram share: the Send API, reactions, checks and media downloads.

Both platforms are the Messenger Platform underneath. A message goes out as
`POST {base}/{page-or-account-id}/messages` with `recipient.id` (the PSID or
IGSID) and a `message`: `text` (with optional `quick_replies`) or one
`attachment` (`type` image/video/audio/file, `payload.url`). An answer of
`{"recipient_id", "message_id"}` means sent; anything else is a Graph API
error (`meta.graph`). Reactions use the same endpoint with `sender_action`
`react`/`unreact` and `payload.message_id`.

Attachments carry no caption on either platform, so a caption follows the
file as a text message; the file's id is the message's provider id.

`MetaMessagingProvider` implements the whole contract; the Messenger and
Instagram providers set what differs (webhook `object`, config key of the
account id, base URL setting, content mapping).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

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
from channels_app.providers.meta.graph import auth_headers, graph_error, graph_failure
from channels_app.providers.meta.messaging_webhooks import parse_messaging_webhook

logger = logging.getLogger(__name__)

# Messenger documents code 1200, "Temporary send message failure", as worth
# retrying; meta.graph's list (shared with WhatsApp) does not carry it.
SEND_API_TRANSIENT_CODES = frozenset({"1200"})
# Attachments are at most 25 MB on both platforms; the cap leaves room.
MEDIA_MAX_BYTES = 100 * 1024 * 1024
# Linktor content type -> Send API attachment type.
ATTACHMENT_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file"}


class UnsupportedContent(Exception):
    """Content the platform cannot carry in the shape it was given (fails the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Message bodies --------------------------------------------------------------


def quick_replies(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reply options as `quick_replies` of `content_type` text; the id comes back as payload."""
    return [
        {"content_type": "text", "title": option["title"], "payload": option["id"]}
        for option in options
    ]


def text_message(text: str, options: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"text": text}
    if options:
        message["quick_replies"] = quick_replies(options)
    return message


def attachment_message(kind: str, url: str, *, reusable: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"url": url}
    if reusable:
        payload["is_reusable"] = True
    return {"attachment": {"type": ATTACHMENT_TYPES[kind], "payload": payload}}


def common_messages(content: dict[str, Any], *, reusable: bool) -> list[dict[str, Any]]:
    """Bodies for text and media content: one message, plus a caption after a file."""
    kind = content.get("type")
    if kind == "text":
        return [text_message(content["text"], content.get("quickReplies"))]
    if kind in ATTACHMENT_TYPES:
        messages = [attachment_message(kind, content["url"], reusable=reusable)]
        if content.get("caption"):
            messages.append(text_message(content["caption"]))
        return messages
    raise UnsupportedContent(f"This channel cannot send '{kind}' messages.")


# --- Calls -------------------------------------------------------------------------


def post_message(url: str, config: dict[str, Any], body: dict[str, Any]) -> SendResult:
    """One Send API call: the message id on success, a classified failure otherwise."""
    try:
        response = http.request("POST", url, json=body, headers=auth_headers(config))
    except http.TransportError as exc:
        return http.transport_failure(exc)
    if not response.ok:
        result = graph_failure(response)
        if result.error_code in SEND_API_TRANSIENT_CODES and not result.retryable:
            return SendResult.failed(result.error_code, result.error_message, retryable=True)
        return result
    data = response.json()
    message_id = data.get("message_id") if isinstance(data, dict) else None
    if not message_id:
        # Sent or not, we cannot tell; a retry could double it, so it stops here.
        return SendResult.failed(
            "UNEXPECTED_RESPONSE", "The Send API answered without a message_id."
        )
    return SendResult.sent(str(message_id))


def check_account(url: str, config: dict[str, Any]) -> CheckResult:
    """GET the page or account with the channel's token: 2xx works, 4xx is a bad config."""
    try:
        response = http.request("GET", url, headers=auth_headers(config))
    except http.TransportError as exc:
        return CheckResult.failure(str(exc))
    if response.ok:
        return CheckResult.success()
    _, message = graph_error(response)
    message = message or f"The Graph API answered HTTP {response.status}."
    return CheckResult.failure(message, rejected=not http.is_transient(response.status))


def download(media: InboundMedia) -> FetchedMedia:
    """GET an attachment URL from a webhook (a signed CDN link; it takes no token)."""
    if not media.ref.startswith(("https://", "http://")):
        raise MediaFetchError("The attachment has no URL to download.")
    try:
        response = http.request(
            "GET",
            media.ref,
            headers={"Accept": "*/*"},
            max_bytes=MEDIA_MAX_BYTES,
            follow_redirects=True,
        )
    except http.TransportError as exc:
        raise MediaFetchError(str(exc), retryable=True) from exc
    if not response.ok:
        raise MediaFetchError(
            f"The attachment URL answered HTTP {response.status}.",
            retryable=http.is_transient(response.status),
        )
    mime = response.header("content-type").split(";")[0].strip()
    return FetchedMedia(data=response.body, mime_type=mime or media.mime_type)


# --- The provider ------------------------------------------------------------------


class MetaMessagingProvider:
    """The contract for a Messenger Platform product; subclasses set what differs."""

    channel_type: ClassVar[str]
    # The webhook `object` this product posts ("page", "instagram").
    webhook_object: ClassVar[str]
    # The config key holding the page or account id that sends and receives.
    account_key: ClassVar[str]
    base_url_setting: ClassVar[str]
    # `fields` asked for by `check`.
    check_fields: ClassVar[str]
    # Extra top-level fields of every send (Messenger's `messaging_type`).
    send_fields: ClassVar[dict[str, Any]] = {}
    reusable_attachments: ClassVar[bool] = False

    def account_id(self, config: dict[str, Any]) -> str:
        return str(config.get(self.account_key) or "")

    def messages_url(self, config: dict[str, Any]) -> str:
        base = http.base_url(config, self.base_url_setting)
        return f"{base}/{self.account_id(config) or 'me'}/messages"

    def build_messages(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        return common_messages(content, reusable=self.reusable_attachments)

    def send(self, outbound: Outbound) -> SendResult:
        try:
            messages = self.build_messages(outbound.content)
        except UnsupportedContent as exc:
            return SendResult.failed("UNSUPPORTED_CONTENT", exc.message)
        url = self.messages_url(outbound.config)
        first: SendResult | None = None
        for index, message in enumerate(messages):
            body: dict[str, Any] = {
                "recipient": {"id": outbound.to},
                **self.send_fields,
                "message": message,
            }
            if index == 0 and outbound.reply_to_external_id:
                body["reply_to"] = {"mid": outbound.reply_to_external_id}
            result = post_message(url, outbound.config, body)
            if first is None:
                first = result
                if not result.ok:
                    return result
            elif not result.ok:
                # The file is out; re-sending it to add the caption would double it.
                logger.warning(
                    "%s message %s: caption not sent: %s %s",
                    self.channel_type,
                    outbound.message_id,
                    result.error_code,
                    result.error_message,
                )
        assert first is not None
        return first

    def reaction_value(self, emoji: str) -> str:
        """What `payload.reaction` carries for an emoji (Messenger: the emoji itself)."""
        return emoji

    def react(self, reaction: OutboundReaction) -> SendResult:
        payload: dict[str, Any] = {"message_id": reaction.external_id}
        if reaction.operation == "remove":
            action = "unreact"
        else:
            action = "react"
            try:
                payload["reaction"] = self.reaction_value(reaction.emoji)
            except UnsupportedContent as exc:
                return SendResult.failed("UNSUPPORTED_REACTION", exc.message)
        body = {"recipient": {"id": reaction.to}, "sender_action": action, "payload": payload}
        url = self.messages_url(reaction.config)
        try:
            response = http.request("POST", url, json=body, headers=auth_headers(reaction.config))
        except http.TransportError as exc:
            return http.transport_failure(exc)
        if not response.ok:
            return graph_failure(response)
        return SendResult.sent(reaction.external_id)

    def check(self, config: dict[str, Any]) -> CheckResult:
        base = http.base_url(config, self.base_url_setting)
        account = self.account_id(config) or "me"
        return check_account(f"{base}/{account}?fields={self.check_fields}", config)

    def handshake(self, request: InboundRequest, config: dict[str, Any]) -> WebhookReply | None:
        return webhooks.handshake(request, config)

    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool:
        return webhooks.verify_signature(request, config)

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
        return parse_messaging_webhook(
            request.body, webhook_object=self.webhook_object, account_id=self.account_id(config)
        )

    def fetch_media(self, media: InboundMedia, config: dict[str, Any]) -> FetchedMedia:
        return download(media)
