"""Which provider sends for a channel, and which one can test its config."""

from __future__ import annotations

from typing import Any

from channels_app.providers.api import ApiCallbackProvider
from channels_app.providers.base import CheckableProvider, Provider
from channels_app.providers.sandbox import SandboxProvider

# Real provider classes register here by channel type as they are built.
PROVIDERS: dict[str, type[Any]] = {}


def _uses_sandbox(channel_type: str, config: dict[str, Any]) -> bool:
    return bool(config.get("sandbox")) or (channel_type == "api" and not config.get("callbackUrl"))


def provider_for(channel_type: str, config: dict[str, Any]) -> Provider | None:
    """The provider for a channel, or None when nothing can send for it."""
    if _uses_sandbox(channel_type, config):
        return SandboxProvider()
    provider_class = PROVIDERS.get(channel_type)
    return provider_class() if provider_class else None


def checker_for(channel_type: str, config: dict[str, Any]) -> CheckableProvider | None:
    """What `check_channel` asks, or None when no integration for the type exists yet.

    Providers implement `check` optionally; the API channel's callback check
    exists before its sending provider does, so it is looked up here directly.
    """
    if _uses_sandbox(channel_type, config):
        return SandboxProvider()
    if channel_type == "api":
        return ApiCallbackProvider()
    provider_class = PROVIDERS.get(channel_type)
    if provider_class is None or not hasattr(provider_class, "check"):
        return None
    return provider_class()
