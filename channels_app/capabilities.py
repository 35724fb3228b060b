"""What each channel type can carry and do, indexed by type.

The API validates content against it, the inbox shows or hides actions by it,
and the delete/edit services read their windows from it. The values follow the
providers' public documentation.
"""

from __future__ import annotations

from typing import Any

from channels_app.providers.api.capabilities import CAPABILITIES as API
from channels_app.providers.base import ALL_CONTENT_TYPES, Capabilities
from channels_app.providers.email.capabilities import CAPABILITIES as EMAIL
from channels_app.providers.instagram.capabilities import CAPABILITIES as INSTAGRAM
from channels_app.providers.messenger.capabilities import CAPABILITIES as MESSENGER
from channels_app.providers.sms.capabilities import CAPABILITIES as SMS
from channels_app.providers.telegram.capabilities import CAPABILITIES as TELEGRAM
from channels_app.providers.webchat.capabilities import CAPABILITIES as WEBCHAT
from channels_app.providers.whatsapp.capabilities import CAPABILITIES as WHATSAPP

__all__ = ["ALL_CONTENT_TYPES", "CAPABILITIES", "Capabilities", "capabilities_for", "mask_config"]

# Each provider package owns its table; this is the index by channel type.
CAPABILITIES: dict[str, Capabilities] = {
    "whatsapp": WHATSAPP,
    "sms": SMS,
    "telegram": TELEGRAM,
    "email": EMAIL,
    "webchat": WEBCHAT,
    "messenger": MESSENGER,
    "instagram": INSTAGRAM,
    "api": API,
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
