"""Which provider sends for a channel."""

from __future__ import annotations

from typing import Any

from channels_app.providers.base import Provider
from channels_app.providers.sandbox import SandboxProvider

# Real provider classes register here by channel type as they are built.
PROVIDERS: dict[str, type[Any]] = {}


def provider_for(channel_type: str, config: dict[str, Any]) -> Provider | None:
    """The provider for a channel, or None when nothing can send for it."""
    if config.get("sandbox") or (channel_type == "api" and not config.get("callbackUrl")):
        return SandboxProvider()
    provider_class = PROVIDERS.get(channel_type)
    return provider_class() if provider_class else None
