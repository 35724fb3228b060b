"""What an SMS channel on Twilio can carry: text, and media as MMS."""

from channels_app.providers.base import Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset({"text", "image", "video", "audio", "document"}),
    delivery_receipts=True,
)
