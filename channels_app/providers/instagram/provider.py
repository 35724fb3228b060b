"""Instagram direct messages through the Instagram API with Instagram Login.

Config: `accountId` (the Instagram professional account id, the `id` of
webhook entries), `accessToken` (an Instagram User access token), `appSecret`
(signs webhooks), `verifyToken`, optional `apiBaseUrl` over
INSTAGRAM_API_BASE_URL (graph.instagram.com). Sends are
`POST /{accountId}/messages` with `recipient` and `message` (text with quick
replies; image, video or audio by URL); webhooks arrive with
`object: instagram`.

Reactions: the API takes `sender_action: react` with `payload.reaction` set to
`love`, the one reaction it documents, so a heart goes out as `love` and any
other emoji is refused rather than changed into a heart.
"""

from __future__ import annotations

from channels_app.providers.meta.messaging import MetaMessagingProvider, UnsupportedContent

# The heart, with and without the emoji variation selector.
HEARTS = frozenset({"❤", "❤️", "♥", "♥️"})


class InstagramProvider(MetaMessagingProvider):
    channel_type = "instagram"
    webhook_object = "instagram"
    account_key = "accountId"
    base_url_setting = "INSTAGRAM_API_BASE_URL"
    check_fields = "user_id,username"

    def reaction_value(self, emoji: str) -> str:
        if emoji.strip() in HEARTS:
            return "love"
        raise UnsupportedContent("Instagram takes only the ❤️ (love) reaction.")


PROVIDER = InstagramProvider
