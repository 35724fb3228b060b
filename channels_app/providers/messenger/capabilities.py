"""What a Facebook Messenger page can carry, from the Send API documentation."""

from channels_app.providers.base import Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset({"text", "image", "document", "audio", "video", "buttons"}),
    delivery_receipts=True,
    read_receipts=True,
    message_window_hours=24,
    reactions=True,
    quick_replies=True,
)
