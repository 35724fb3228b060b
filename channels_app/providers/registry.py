"""Which provider serves a channel: by its type, or the sandbox for demo channels.

Each channel type has a package under `channels_app/providers/` whose
`provider.py` names its class as `PROVIDER`. Modules load on first use, so
importing the registry pulls in no provider code.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from channels_app.providers.api.callback import ApiCallbackProvider
from channels_app.providers.base import CheckableProvider, Provider
from channels_app.providers.sandbox import SandboxProvider

PROVIDER_PACKAGES: dict[str, str] = {
    "whatsapp": "whatsapp",
    "sms": "sms",
    "telegram": "telegram",
    "email": "email",
    "webchat": "webchat",
    "messenger": "messenger",
    "instagram": "instagram",
    "api": "api",
}


@functools.cache
def provider_class(channel_type: str) -> type[Any] | None:
    package = PROVIDER_PACKAGES.get(channel_type)
    if package is None:
        return None
    module_name = f"channels_app.providers.{package}.provider"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    return module.PROVIDER


def uses_sandbox(channel_type: str, config: dict[str, Any]) -> bool:
    return bool(config.get("sandbox")) or (channel_type == "api" and not config.get("callbackUrl"))


def provider_for(channel_type: str, config: dict[str, Any]) -> Any | None:
    """The provider for a channel, or None when nothing can send for it.

    Typed `Any` because providers implement the optional parts of the
    contract (`verify`, `parse`, `fetch_media`, ...) selectively; callers ask
    with `hasattr`. `Provider` in base.py is the part every one has.
    """
    if uses_sandbox(channel_type, config):
        return SandboxProvider()
    cls = provider_class(channel_type)
    return cls() if cls else None


def inbound_provider_for(channel_type: str, config: dict[str, Any]) -> Any | None:
    """Who reads webhooks posted to a channel's URL, or None when nobody does.

    Like `provider_for`, except that an API channel without a callback URL
    (which sends through the sandbox) still takes signed inbound events:
    an integration may only ever write to us.
    """
    if channel_type == "api" and not config.get("sandbox"):
        cls = provider_class("api")
        return cls() if cls else None
    return provider_for(channel_type, config)


def checker_for(channel_type: str, config: dict[str, Any]) -> CheckableProvider | None:
    """What `check_channel` asks, or None when the type's provider cannot check."""
    provider = provider_for(channel_type, config)
    if provider is not None and hasattr(provider, "check"):
        return provider
    if channel_type == "api":
        return ApiCallbackProvider()
    return None


__all__ = ["Provider", "checker_for", "inbound_provider_for", "provider_for", "uses_sandbox"]
