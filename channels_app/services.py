"""Channel services: create, reconfigure, activate and deactivate channels."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from channels_app.capabilities import MASK, mask_config
from channels_app.models import Channel
from inbox.errors import ValidationFailed
from inbox.models import Workspace
from messaging.events import record_event


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
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def create_channel(
    *,
    workspace: Workspace,
    type: str,
    name: str,
    config: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    status: str = Channel.Status.ACTIVE,
) -> Channel:
    if type not in Channel.Type.values:
        raise ValidationFailed(
            f"Unknown channel type; use one of {', '.join(Channel.Type.values)}.", field="type"
        )
    if not (name or "").strip():
        raise ValidationFailed("A name is required.", field="name")
    if status not in Channel.Status.values:
        raise ValidationFailed("Unknown status.", field="status")
    with transaction.atomic():
        channel = Channel.objects.create(
            workspace=workspace,
            type=type,
            name=name.strip(),
            config=_clean_config(config),
            metadata=metadata or {},
            status=status,
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
    """Rename or reconfigure; `config` is merged key by key, None removes a key."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        if name is not None:
            if not name.strip():
                raise ValidationFailed("A name is required.", field="name")
            channel.name = name.strip()
        channel.config = _clean_config(config, channel.config)
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise ValidationFailed("Must be an object.", field="metadata")
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
