"""What each channel type can carry and do, as one table.

The API validates content against it, the inbox shows or hides actions by it,
and the delete/edit services read their windows from it. The values follow the
providers' public documentation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ALL_CONTENT_TYPES = (
    "text",
    "image",
    "document",
    "audio",
    "video",
    "location",
    "buttons",
    "template",
)


@dataclass(frozen=True)
class Capabilities:
    content_types: frozenset[str]
    delivery_receipts: bool = False
    read_receipts: bool = False
    delete_for_everyone: bool = False
    # None means no time limit (where deleting is supported at all).
    delete_window_seconds: int | None = None
    edit: bool = False
    edit_window_seconds: int | None = None
    # Hours after the contact's last inbound message during which free-form
    # messages are allowed; None when the channel has no such window.
    message_window_hours: int | None = None
    reactions: bool = False
    quick_replies: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def supports(self, content_type: str) -> bool:
        return content_type in self.content_types

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["content_types"] = sorted(self.content_types)
        return data


CAPABILITIES: dict[str, Capabilities] = {
    "whatsapp": Capabilities(
        content_types=frozenset(ALL_CONTENT_TYPES),
        delivery_receipts=True,
        read_receipts=True,
        # WhatsApp has no delete-for-everyone in the Cloud API.
        delete_for_everyone=False,
        edit=False,
        message_window_hours=24,
        reactions=True,
        quick_replies=True,
    ),
    "sms": Capabilities(
        content_types=frozenset({"text", "image", "video", "audio", "document"}),
        delivery_receipts=True,
    ),
    "telegram": Capabilities(
        content_types=frozenset(
            {"text", "image", "document", "audio", "video", "location", "buttons"}
        ),
        delete_for_everyone=True,
        # Bots may delete their own messages for 48 hours.
        delete_window_seconds=48 * 3600,
        edit=True,
        edit_window_seconds=48 * 3600,
        reactions=True,
        quick_replies=True,
    ),
    "email": Capabilities(
        content_types=frozenset({"text", "image", "document", "audio", "video"}),
    ),
    "webchat": Capabilities(
        content_types=frozenset(
            {"text", "image", "document", "audio", "video", "location", "buttons"}
        ),
        delivery_receipts=True,
        read_receipts=True,
        delete_for_everyone=True,
        edit=True,
        reactions=True,
        quick_replies=True,
    ),
    "messenger": Capabilities(
        content_types=frozenset({"text", "image", "document", "audio", "video", "buttons"}),
        delivery_receipts=True,
        read_receipts=True,
        message_window_hours=24,
        reactions=True,
        quick_replies=True,
    ),
    "instagram": Capabilities(
        content_types=frozenset({"text", "image", "audio", "video"}),
        read_receipts=True,
        message_window_hours=24,
        reactions=True,
        quick_replies=True,
    ),
    "api": Capabilities(
        content_types=frozenset(ALL_CONTENT_TYPES),
        delivery_receipts=True,
        read_receipts=True,
        delete_for_everyone=True,
        edit=True,
        reactions=True,
        quick_replies=True,
    ),
}


def capabilities_for(channel_type: str) -> Capabilities:
    return CAPABILITIES[channel_type]


# Config keys whose values are credentials: never rendered back, in the API,
# the admin or the logs.
SECRET_CONFIG_KEYS = frozenset(
    {
        "accessToken",
        "appSecret",
        "authToken",
        "botToken",
        "verifyToken",
        "webhookSecret",
        "smtpPassword",
        "imapPassword",
        "callbackSecret",
        "identitySecret",
        "password",
        "secret",
    }
)
MASK = "********"


def mask_config(config: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (MASK if key in SECRET_CONFIG_KEYS and value not in (None, "") else value)
        for key, value in (config or {}).items()
    }
