"""Facebook Messenger: a Page's conversations through the Send API and page webhooks.

Config: `pageId`, `accessToken` (a Page access token), `appSecret` (signs
webhooks), `verifyToken` (the subscription handshake), optional
`apiBaseUrl` over MESSENGER_API_BASE_URL. Sends are `POST /{pageId}/messages`
with `messaging_type: RESPONSE` (replies inside the 24-hour window, which
`send_message` enforces); webhooks arrive with `object: page`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from channels_app.providers.messenger.payloads import build_messages
from channels_app.providers.meta.messaging import MetaMessagingProvider


class MessengerProvider(MetaMessagingProvider):
    channel_type = "messenger"
    webhook_object = "page"
    account_key = "pageId"
    base_url_setting = "MESSENGER_API_BASE_URL"
    check_fields = "id,name"
    send_fields: ClassVar[dict[str, Any]] = {"messaging_type": "RESPONSE"}
    reusable_attachments = True

    def build_messages(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        return build_messages(content)


PROVIDER = MessengerProvider
