"""What an Instagram professional account can carry in direct messages."""

from channels_app.providers.base import Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset({"text", "image", "audio", "video"}),
    read_receipts=True,
    message_window_hours=24,
    reactions=True,
    quick_replies=True,
)
