"""What an email channel can carry: text with files attached."""

from channels_app.providers.base import Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset({"text", "image", "document", "audio", "video"}),
)
