"""Channel services: create, reconfigure, activate, deactivate, test and delete channels.

Every change to a Channel row goes through these functions (the API, the
admin, the demo loader). They validate first, then change rows in one
transaction with their outbox event. `check_channel` calls the provider with
no transaction open and only then records the outcome.

Channel configs hold credentials: nothing here logs a config, and events carry
the masked config only (`channel_data`).
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from channels_app.capabilities import MASK, mask_config
from channels_app.models import Channel
from channels_app.providers.base import ActivationResult, CheckResult
from channels_app.providers.registry import checker_for, provider_for
from inbox.errors import AlreadyExists, DomainError, ValidationFailed
from inbox.models import User, Workspace
from messaging.events import record_event
from messaging.models import Conversation
from messaging.services import close_conversation

# --- Errors with their API codes ----------------------------------------------


class InvalidChannelType(ValidationFailed):
    code = "INVALID_CHANNEL_TYPE"
    default_message = "Unknown channel type."


class ChannelAlreadyExists(AlreadyExists):
    code = "CHANNEL_ALREADY_EXISTS"
    default_message = "The workspace already has a channel of this type for this address."


class ChannelActivationFailed(DomainError):
    code = "CHANNEL_ACTIVATION_FAILED"
    status = 400
    default_message = "The provider refused to register this channel."


class ProviderUnavailable(DomainError):
    code = "PROVIDER_UNAVAILABLE"
    status = 503
    default_message = "The provider could not be reached; try again later."


class ActiveConversationsExist(DomainError):
    code = "ACTIVE_CONVERSATIONS_EXIST"
    status = 400
    default_message = (
        "The channel has open, pending or snoozed conversations; close them first "
        "or delete with force=true."
    )


# --- Config validation ----------------------------------------------------------

# Required config keys per type for a real (non-sandbox) channel. Types not
# listed (api) need no credential to exist.
REQUIRED_CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "whatsapp": ("phoneNumberId", "accessToken"),
    "messenger": ("pageId", "accessToken"),
    "instagram": ("accountId", "accessToken"),
    "sms": ("accountSid", "authToken", "phoneNumber"),
    "telegram": ("botToken",),
    "email": ("fromEmail",),
    "webchat": ("allowedOrigins",),
}

# The config key naming the provider-side address a channel stands for. Two
# channels of one type with the same address in a workspace would receive each
# other's traffic (one webhook registration per number/bot), so the second is
# refused with 409 CHANNEL_ALREADY_EXISTS.
IDENTITY_CONFIG_KEY: dict[str, str] = {
    "whatsapp": "phoneNumberId",
    "sms": "phoneNumber",
    "telegram": "botToken",
    "email": "fromEmail",
    "messenger": "pageId",
    "instagram": "accountId",
}

_STRING_KEYS = frozenset(
    {
        "phoneNumberId",
        "accessToken",
        "businessAccountId",
        "verifyToken",
        "appSecret",
        "accountSid",
        "authToken",
        "botToken",
        "fromName",
        "smtpHost",
        "smtpUsername",
        "smtpPassword",
        "imapHost",
        "imapUsername",
        "imapPassword",
        "callbackSecret",
        "displayPhoneNumber",
        "pageId",
        "accountId",
        "messagingServiceSid",
        "imapFolder",
        "webhookSecret",
    }
)
# E.164 as a format: a provider hands out canonical numbers, and a canonical
# form keeps the duplicate check exact.
_E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
_TELEGRAM_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{10,100}$")


def _config_error(key: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"config.{key}: {message}", field=f"config.{key}")


def _check_url(key: str, value: Any, *, origin_only: bool = False) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _config_error(key, "Must be a non-empty string.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _config_error(key, "Must be an http(s) URL.")
    if parts.username or parts.password:
        raise _config_error(key, "Must not carry credentials.")
    if origin_only and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise _config_error(key, "Must be an origin (scheme://host[:port]), with no path.")


def validate_channel_config(channel_type: str, config: dict[str, Any]) -> None:
    """Raise ValidationFailed naming `config.<key>` for a config the channel cannot use.

    Formats of the known keys are checked whenever they are present; the
    credentials a real channel needs are required unless `sandbox` is true.
    Keys this function does not know are kept as given (provider extras).
    """
    sandbox = config.get("sandbox", False)
    if not isinstance(sandbox, bool):
        raise _config_error("sandbox", "Must be true or false.")
    for key in _STRING_KEYS & config.keys():
        value = config[key]
        if not isinstance(value, str) or not value.strip():
            raise _config_error(key, "Must be a non-empty string.")
    if not sandbox:
        for key in REQUIRED_CONFIG_KEYS.get(channel_type, ()):
            if config.get(key) in (None, "", []):
                raise _config_error(key, f"Required for a {channel_type} channel.")
    phone = config.get("phoneNumber")
    if channel_type == "sms" and phone is not None and not _E164_RE.match(str(phone)):
        raise _config_error("phoneNumber", "Must be in E.164 format, like +14155550100.")
    token = config.get("botToken")
    if channel_type == "telegram" and token is not None and not _TELEGRAM_TOKEN_RE.match(token):
        raise _config_error("botToken", "Must look like <bot id>:<secret> as BotFather gives it.")
    if "fromEmail" in config:
        try:
            validate_email(config["fromEmail"])
        except (ValidationError, TypeError):
            raise _config_error("fromEmail", "Must be an email address.") from None
    for key in ("smtpPort", "imapPort"):
        if key in config:
            port = config[key]
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise _config_error(key, "Must be a port number (1-65535).")
    for key in ("smtpUseTls", "smtpUseSsl", "imapUseTls"):
        if key in config and not isinstance(config[key], bool):
            raise _config_error(key, "Must be true or false.")
    if "allowedOrigins" in config:
        origins = config["allowedOrigins"]
        if not isinstance(origins, list) or len(origins) > 100:
            raise _config_error("allowedOrigins", "Must be a list of at most 100 origins.")
        for i, origin in enumerate(origins):
            _check_url(f"allowedOrigins[{i}]", origin, origin_only=True)
    if "theme" in config and not isinstance(config["theme"], dict):
        raise _config_error("theme", "Must be an object.")
    if "callbackUrl" in config:
        _check_url("callbackUrl", config["callbackUrl"])
    if "apiBaseUrl" in config:
        # Points the provider's API at another host (a regional endpoint, a
        # stand-in for a demo); the operator-wide default is a setting.
        _check_url("apiBaseUrl", config["apiBaseUrl"])


def _normalized_config(config: dict[str, Any]) -> dict[str, Any]:
    """Canonical forms of the values the duplicate check compares."""
    if isinstance(config.get("fromEmail"), str):
        config["fromEmail"] = config["fromEmail"].strip().lower()
    if isinstance(config.get("allowedOrigins"), list):
        config["allowedOrigins"] = [o.rstrip("/") for o in config["allowedOrigins"]]
    return config


def _ensure_unique_address(
    workspace: Workspace, channel_type: str, config: dict[str, Any], exclude_pk: int | None
) -> None:
    key = IDENTITY_CONFIG_KEY.get(channel_type)
    value = config.get(key) if key else None
    if not value:
        return
    others = Channel.objects.filter(workspace=workspace, type=channel_type)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    # Compared in Python: a workspace has a handful of channels, and JSON key
    # lookups differ between SQLite and PostgreSQL.
    if any((other.get(key) or "") == value for other in others.values_list("config", flat=True)):
        # The value may be a secret (a bot token): the message never repeats it.
        raise ChannelAlreadyExists(
            f"This workspace already has a {channel_type} channel with this {key}.",
            field=f"config.{key}",
        )


def _lock_workspace(workspace: Workspace) -> None:
    """Serialise channel creation and reconfiguration per workspace.

    Makes the duplicate-address check and the insert atomic: two concurrent
    requests for the same number cannot both pass the check.
    """
    list(Workspace.objects.select_for_update().filter(pk=workspace.pk).values_list("pk"))


# --- Representation used in events ----------------------------------------------


def channel_data(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.public_id,
        "type": "channel",
        "attributes": {
            "name": channel.name,
            "channelType": channel.type,
            "status": channel.status,
            "config": mask_config(channel.config),
            "metadata": channel.metadata,
        },
    }


def _clean_config(config: Any, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    if config is None:
        return dict(previous or {})
    if not isinstance(config, dict):
        raise ValidationFailed("Must be an object.", field="config")
    merged = dict(previous or {})
    for key, value in config.items():
        # A masked value read back from the API or admin means "unchanged".
        if value == MASK and key in merged:
            continue
        if value == MASK:
            # Never store the mask itself as a credential.
            raise _config_error(key, "Give the value; the mask only keeps an existing secret.")
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _clean_metadata(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise ValidationFailed("Must be an object.", field="metadata")
    return metadata


def initial_status(channel_type: str, config: dict[str, Any]) -> str:
    """Active when nothing outside needs verifying, else pending.

    A sandbox channel, or an API channel with no callback URL, sends through
    the sandbox provider and has no credential to check, so it is usable at
    once. Any other channel starts `pending`: the Messages API refuses to send
    on it until a successful `check_channel` or an explicit activation.
    """
    if config.get("sandbox") or (channel_type == "api" and not config.get("callbackUrl")):
        return Channel.Status.ACTIVE
    return Channel.Status.PENDING


# --- Services -------------------------------------------------------------------


def create_channel(
    *,
    workspace: Workspace,
    type: str,
    name: str,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    status: str | None = None,
) -> Channel:
    """Create a channel; `status` None picks `initial_status` (active or pending)."""
    if type not in Channel.Type.values:
        raise InvalidChannelType(
            f"Unknown channel type; use one of {', '.join(Channel.Type.values)}.", field="type"
        )
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("A name is required.", field="name")
    if len(name.strip()) > 200:
        raise ValidationFailed("At most 200 characters.", field="name")
    if status is not None and status not in Channel.Status.values:
        raise ValidationFailed("Unknown status.", field="status")
    clean = _normalized_config(_clean_config(config))
    validate_channel_config(type, clean)
    metadata = _clean_metadata(metadata if metadata is not None else {})
    with transaction.atomic():
        _lock_workspace(workspace)
        _ensure_unique_address(workspace, type, clean, exclude_pk=None)
        channel = Channel.objects.create(
            workspace=workspace,
            type=type,
            name=name.strip(),
            config=clean,
            metadata=metadata,
            status=status or initial_status(type, clean),
        )
        record_event(workspace=workspace, event="channel.created", data=channel_data(channel))
    return channel


def update_channel(
    *,
    channel: Channel,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Channel:
    """Rename or reconfigure; `config` is merged key by key, None removes a key.

    The merged config is validated as a whole, so removing a required
    credential of a real channel is refused.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValidationFailed("A name is required.", field="name")
    if name is not None and len(name.strip()) > 200:
        raise ValidationFailed("At most 200 characters.", field="name")
    if metadata is not None:
        _clean_metadata(metadata)
    with transaction.atomic():
        if config is not None:
            _lock_workspace(channel.workspace)
        channel = Channel.objects.select_for_update().select_related("workspace").get(pk=channel.pk)
        if name is not None:
            channel.name = name.strip()
        if config is not None:
            merged = _normalized_config(_clean_config(config, channel.config))
            validate_channel_config(channel.type, merged)
            _ensure_unique_address(channel.workspace, channel.type, merged, exclude_pk=channel.pk)
            channel.config = merged
        if metadata is not None:
            channel.metadata = metadata
        channel.save()
        record_event(
            workspace=channel.workspace, event="channel.updated", data=channel_data(channel)
        )
    return channel


def set_channel_status(*, channel: Channel, status: str, reason: str = "") -> Channel:
    """Activate, deactivate or flag a channel, with the matching event."""
    event = {
        Channel.Status.ACTIVE: "channel.activated",
        Channel.Status.INACTIVE: "channel.deactivated",
        Channel.Status.ERROR: "channel.error",
        Channel.Status.PENDING: "channel.updated",
    }.get(status)
    if event is None:
        raise ValidationFailed("Unknown status.", field="status")
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        if channel.status == status and channel.status_reason == reason:
            return channel
        channel.status = status
        channel.status_reason = reason[:500]
        channel.save(update_fields=["status", "status_reason", "updated_at"])
        record_event(workspace=channel.workspace, event=event, data=channel_data(channel))
    return channel


def activate_channel(*, channel: Channel, reason: str = "") -> Channel:
    """Make a channel active, registering it with the provider first where needed.

    Providers that push to us only once told where (Telegram's setWebhook)
    implement `activate`; it runs with no transaction open. Credentials the
    provider refuses put the channel in `error` (with `channel.error`) and
    raise CHANNEL_ACTIVATION_FAILED; an unreachable provider changes nothing
    and raises PROVIDER_UNAVAILABLE.
    """
    from channels_app.links import channel_webhook_url

    provider = provider_for(channel.type, channel.config)
    activate = getattr(provider, "activate", None)
    if activate is not None:
        result: ActivationResult = activate(channel.config, channel_webhook_url(channel))
        if not result.ok:
            if result.rejected:
                set_channel_status(
                    channel=channel, status=Channel.Status.ERROR, reason=result.error
                )
                raise ChannelActivationFailed(
                    result.error or ChannelActivationFailed.default_message
                )
            raise ProviderUnavailable(result.error or ProviderUnavailable.default_message)
        if result.config_updates:
            with transaction.atomic():
                locked = Channel.objects.select_for_update().get(pk=channel.pk)
                locked.config = {**locked.config, **result.config_updates}
                locked.save(update_fields=["config", "updated_at"])
    return set_channel_status(channel=channel, status=Channel.Status.ACTIVE, reason=reason)


def deactivate_channel(
    *,
    channel: Channel,
    reason: str = "",
    close_conversations: bool = False,
    by: User | None = None,
) -> tuple[Channel, int]:
    """Deactivate; optionally close its active conversations as unresolved.

    One transaction: the channel and its conversations change together or not
    at all. Answers the channel and how many conversations were closed.
    """
    with transaction.atomic():
        channel = set_channel_status(channel=channel, status=Channel.Status.INACTIVE, reason=reason)
        closed = 0
        if close_conversations:
            active = Conversation.objects.filter(
                channel=channel, status__in=Conversation.ACTIVE_STATUSES
            ).order_by("pk")
            for conversation in active:
                close_conversation(
                    conversation=conversation,
                    by=by,
                    resolution=Conversation.Resolution.UNRESOLVED,
                    reason=reason[:500] or "Channel deactivated",
                )
                closed += 1
    return channel, closed


def delete_channel(*, channel: Channel, force: bool = False) -> None:
    """Delete a channel; its conversations and messages go with it (database cascade).

    Refused with ACTIVE_CONVERSATIONS_EXIST while open, pending or snoozed
    conversations remain, unless `force`. Closed conversations never block:
    deleting a channel deletes its history, which is what the operator asks
    for. Files of deleted attachments stay on storage: an uploaded file can be
    shared by several messages, so it is not ours to remove here.
    """
    with transaction.atomic():
        channel = Channel.objects.select_for_update().select_related("workspace").get(pk=channel.pk)
        active = Conversation.objects.filter(
            channel=channel, status__in=Conversation.ACTIVE_STATUSES
        ).count()
        if active and not force:
            raise ActiveConversationsExist(
                f"The channel has {active} active conversation(s); close them first "
                "or delete with force=true."
            )
        data = channel_data(channel)
        data["meta"] = {
            "deletedConversations": Conversation.objects.filter(channel=channel).count(),
            "forced": force,
        }
        record_event(workspace=channel.workspace, event="channel.deleted", data=data)
        channel.delete()


def check_channel(*, channel: Channel) -> CheckResult:
    """Ask the provider whether the channel works, and record the outcome.

    The provider call runs with no transaction open (it may take seconds). A
    success makes a pending or failing channel active; credentials the
    provider refuses (a 4xx) put it in `error` with the reason. Unreachable
    providers (timeouts, 5xx) change nothing: the channel may be fine.
    A deliberately inactive channel stays inactive either way.
    """
    checker = checker_for(channel.type, channel.config)
    started = time.monotonic()
    if checker is None:
        result = CheckResult(ok=False, error=f"No provider integration for {channel.type} yet")
    else:
        result = checker.check(channel.config)
    latency_ms = int((time.monotonic() - started) * 1000)
    result = CheckResult(
        ok=result.ok, error=result.error, rejected=result.rejected, latency_ms=latency_ms
    )
    if result.ok and channel.status in (Channel.Status.PENDING, Channel.Status.ERROR):
        try:
            activate_channel(channel=channel)
        except (ChannelActivationFailed, ProviderUnavailable) as exc:
            return CheckResult(
                ok=False,
                error=exc.message,
                rejected=isinstance(exc, ChannelActivationFailed),
                latency_ms=latency_ms,
            )
    elif result.rejected and channel.status != Channel.Status.INACTIVE:
        set_channel_status(
            channel=channel,
            status=Channel.Status.ERROR,
            reason=result.error,
        )
    return result
