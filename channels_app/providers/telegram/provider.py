"""The Telegram provider: a bot sending, editing, deleting and reacting via the Bot API.

Outbound calls follow https://core.telegram.org/bots/api (content mapping in
`payloads`, answers and errors in `api`); inbound webhooks are verified and
parsed in `inbound`. Activation registers our webhook with `setWebhook` and a
secret token Telegram echoes back on every delivery. A button tap is answered
(`answerCallbackQuery`) in the webhook's own reply, so the customer's spinner
stops without another request.
"""

from __future__ import annotations

import json
import posixpath
import re
import secrets
from typing import Any

from channels_app.providers import http
from channels_app.providers.base import (
    ActivationResult,
    CheckResult,
    FetchedMedia,
    InboundEvent,
    InboundMedia,
    InboundMessage,
    InboundRequest,
    MediaFetchError,
    MessageChange,
    Outbound,
    OutboundReaction,
    SendResult,
    WebhookReply,
)
from channels_app.providers.telegram import api, inbound, payloads

# The update kinds `parse` reads. message_reaction is only sent when asked
# for by name (https://core.telegram.org/bots/api#update).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "message_reaction")
# setWebhook: "secret_token: 1-256 characters. Only characters A-Z, a-z, 0-9,
# _ and - are allowed."
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# getFile: "bots can download files of up to 20MB in size".
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Harmless answers to an edit or delete: the provider already has what we want.
_EDIT_NOOP = "message is not modified"
_DELETE_NOOP = "message to delete not found"
# `inbound` gives a button tap (a callback query) the provider id cbq:<query id>.
CALLBACK_PREFIX = "cbq:"


def _target(external_id: str, action: str) -> tuple[int | str, int] | SendResult:
    target = payloads.split_provider_id(external_id)
    if target is None:
        return SendResult.failed(
            "TELEGRAM_NO_MESSAGE", f"{external_id!r} is not a Telegram message we can {action}."
        )
    return target


class TelegramProvider:
    channel_type = "telegram"

    # --- Outbound ---------------------------------------------------------------

    def send(self, outbound: Outbound) -> SendResult:
        try:
            method, params = payloads.send_call(outbound)
        except payloads.ContentError as exc:
            return SendResult.failed("TELEGRAM_UNSUPPORTED_CONTENT", str(exc))
        answer = api.call(outbound.config, method, params)
        if not answer.ok:
            return api.failure(answer)
        result = answer.result if isinstance(answer.result, dict) else {}
        chat = (result.get("chat") or {}).get("id", params["chat_id"])
        message_id = result.get("message_id")
        if message_id is None:
            # Sent, as far as Telegram's 200 says, but without an id to track.
            return SendResult.failed(
                "TELEGRAM_BAD_RESPONSE",
                "Telegram accepted the message but sent back no message_id.",
            )
        return SendResult.sent(payloads.provider_id(chat, message_id))

    def edit(self, change: MessageChange) -> SendResult:
        """editMessageText; a keyboard from quick replies is sent again, or it would go."""
        target = _target(change.external_id, "edit")
        if isinstance(target, SendResult):
            return target
        params: dict[str, Any] = {
            "chat_id": target[0],
            "message_id": target[1],
            "text": change.content.get("text", ""),
        }
        try:
            keyboard = payloads.inline_keyboard(change.content)
        except payloads.ContentError as exc:
            return SendResult.failed("TELEGRAM_UNSUPPORTED_CONTENT", str(exc))
        if keyboard:
            params["reply_markup"] = keyboard
        return self._change(change, "editMessageText", params, _EDIT_NOOP)

    def delete(self, change: MessageChange) -> SendResult:
        target = _target(change.external_id, "delete")
        if isinstance(target, SendResult):
            return target
        params = {"chat_id": target[0], "message_id": target[1]}
        return self._change(change, "deleteMessage", params, _DELETE_NOOP)

    def _change(
        self, change: MessageChange, method: str, params: dict[str, Any], noop: str
    ) -> SendResult:
        answer = api.call(change.config, method, params)
        if answer.ok or (answer.status == 400 and noop in answer.description.lower()):
            return SendResult.sent(change.external_id)
        return api.failure(answer)

    def react(self, reaction: OutboundReaction) -> SendResult:
        """setMessageReaction: the bot's one reaction, or none to remove it.

        Telegram accepts only the emoji it lists for ReactionTypeEmoji; any
        other is a 400 (REACTION_INVALID), a permanent failure.
        """
        target = _target(reaction.external_id, "react to")
        if isinstance(target, SendResult):
            return target
        emoji = payloads.reaction_emoji(reaction.emoji)
        chosen = [] if reaction.operation == "remove" else [{"type": "emoji", "emoji": emoji}]
        params = {"chat_id": target[0], "message_id": target[1], "reaction": chosen}
        answer = api.call(reaction.config, "setMessageReaction", params)
        return SendResult.sent(reaction.external_id) if answer.ok else api.failure(answer)

    # --- Channel setup --------------------------------------------------------------

    def check(self, config: dict[str, Any]) -> CheckResult:
        """getMe: the token is a live bot's. Telegram refuses bad tokens with 401 or 404."""
        answer = api.call(config, "getMe", {})
        if answer.ok:
            return CheckResult.success()
        return CheckResult.failure(f"{answer.code}: {answer.reason}", rejected=not answer.transient)

    def activate(self, config: dict[str, Any], webhook_url: str) -> ActivationResult:
        """setWebhook with our URL and a secret token (generated once, then kept)."""
        secret = str(config.get("webhookSecret") or "")
        if not _SECRET_TOKEN_RE.match(secret):
            secret = secrets.token_urlsafe(32)
        answer = api.call(
            config,
            "setWebhook",
            {
                "url": webhook_url,
                "secret_token": secret,
                "allowed_updates": list(ALLOWED_UPDATES),
                "drop_pending_updates": False,
            },
        )
        if not answer.ok:
            return ActivationResult(
                ok=False, error=f"{answer.code}: {answer.reason}", rejected=not answer.transient
            )
        return ActivationResult(ok=True, config_updates={"webhookSecret": secret})

    # --- Inbound ------------------------------------------------------------------

    def verify(self, request: InboundRequest, config: dict[str, Any]) -> bool:
        return inbound.verify(request, config)

    def parse(self, request: InboundRequest, config: dict[str, Any]) -> list[InboundEvent]:
        return inbound.parse(request, config)

    def acknowledge(self, events: list[InboundEvent]) -> WebhookReply | None:
        """answerCallbackQuery for a button tap, as the webhook reply; else the default.

        "Making requests when getting updates" (https://core.telegram.org/bots/api):
        the reply to a webhook may carry one Bot API call, its method named in
        `method`. Until a callback query is answered the customer's client
        shows a progress bar on the button.
        """
        query_id = next(
            (
                event.provider_message_id.removeprefix(CALLBACK_PREFIX)
                for event in events
                if isinstance(event, InboundMessage)
                and event.provider_message_id.startswith(CALLBACK_PREFIX)
            ),
            None,
        )
        if not query_id:
            return None
        body = {"method": "answerCallbackQuery", "callback_query_id": query_id}
        return WebhookReply(
            status=200, body=json.dumps(body).encode(), content_type="application/json"
        )

    def fetch_media(self, media: InboundMedia, config: dict[str, Any]) -> FetchedMedia:
        """getFile for a file_id's path, then the file itself.

        Telegram refuses getFile for files over 20 MB ("file is too big"): a
        permanent failure, as is any other 4xx; 5xx and timeouts retry.
        """
        answer = api.call(config, "getFile", {"file_id": media.ref})
        if not answer.ok:
            raise MediaFetchError(
                f"getFile failed: {answer.code}: {answer.reason}", retryable=answer.transient
            )
        result = answer.result if isinstance(answer.result, dict) else {}
        file_path = result.get("file_path")
        if not file_path:
            raise MediaFetchError("Telegram gave no file_path for this file.", retryable=False)
        try:
            response = http.request(
                "GET",
                api.file_url(config, str(file_path)),
                headers={"Accept": "*/*"},
                max_bytes=MAX_DOWNLOAD_BYTES,
            )
        except http.TransportError as exc:
            reason = api.scrub(str(exc), config)
            # Over the bot download limit will not get smaller by retrying.
            raise MediaFetchError(reason, retryable="larger than" not in reason) from exc
        if not response.ok:
            raise MediaFetchError(
                f"Downloading the file failed: HTTP {response.status}.",
                retryable=http.is_transient(response.status),
            )
        mime = response.header("content-type").split(";")[0].strip()
        return FetchedMedia(
            data=response.body,
            mime_type=media.mime_type or ("" if mime == "application/octet-stream" else mime),
            filename=media.filename or posixpath.basename(str(file_path)),
        )


PROVIDER = TelegramProvider
