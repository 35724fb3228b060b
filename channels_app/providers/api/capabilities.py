"""What the generic API channel can carry: everything, since the integrator decides."""

from channels_app.providers.base import ALL_CONTENT_TYPES, Capabilities

CAPABILITIES = Capabilities(
    content_types=frozenset(ALL_CONTENT_TYPES),
    delivery_receipts=True,
    read_receipts=True,
    delete_for_everyone=True,
    edit=True,
    reactions=True,
    quick_replies=True,
)
