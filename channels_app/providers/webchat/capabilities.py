"""What the website chat widget can show."""

from channels_app.providers.base import Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset({"text", "image", "document", "audio", "video", "location", "buttons"}),
    delivery_receipts=True,
    read_receipts=True,
    delete_for_everyone=True,
    edit=True,
    reactions=True,
    quick_replies=True,
)
