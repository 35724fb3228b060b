"""What a Telegram bot can carry and do, from the Bot API documentation."""

from channels_app.providers.base import Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset({"text", "image", "document", "audio", "video", "location", "buttons"}),
    delete_for_everyone=True,
    # Bots may delete their own messages for 48 hours.
    delete_window_seconds=48 * 3600,
    edit=True,
    edit_window_seconds=48 * 3600,
    reactions=True,
    quick_replies=True,
)
