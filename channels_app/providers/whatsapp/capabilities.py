"""What a WhatsApp Cloud API channel can carry, from Meta's documentation."""

from channels_app.providers.base import ALL_CONTENT_TYPES, Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset(ALL_CONTENT_TYPES),
    delivery_receipts=True,
    read_receipts=True,
    # The Cloud API has no delete-for-everyone and no edit.
    delete_for_everyone=False,
    edit=False,
    # Free-form messages only within 24 hours of the customer's last message;
    # templates are allowed at any time.
    message_window_hours=24,
    reactions=True,
    quick_replies=True,
)
