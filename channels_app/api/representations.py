"""A channel as the Channels API renders it: masked config, capabilities, health, stats.

Secrets never leave through here: `config` is always `mask_config`'s output.
Traffic figures come from `channels_app.selectors.channel_activity`, computed
for a whole page in one query and passed in.
"""

from __future__ import annotations

from typing import Any

from channels_app.capabilities import ALL_CONTENT_TYPES, Capabilities, mask_config
from channels_app.links import channel_webhook_url
from channels_app.models import Channel
from channels_app.selectors import ChannelActivity
from inbox.timefmt import iso


def capabilities_data(capabilities: Capabilities) -> dict[str, Any]:
    """One boolean per content type, then what the channel can do with messages."""
    return {
        **{content_type: capabilities.supports(content_type) for content_type in ALL_CONTENT_TYPES},
        "deliveryReceipts": capabilities.delivery_receipts,
        "readReceipts": capabilities.read_receipts,
        "deleteForEveryone": capabilities.delete_for_everyone,
        "deleteWindowSeconds": capabilities.delete_window_seconds,
        "editMessages": capabilities.edit,
        "editWindowSeconds": capabilities.edit_window_seconds,
        "messageWindowHours": capabilities.message_window_hours,
        "reactions": capabilities.reactions,
        "quickReplies": capabilities.quick_replies,
    }


def health_status(channel: Channel, activity: ChannelActivity) -> str:
    """`healthy` or `degraded` (sends failed in 24 h) when active, else the channel's status."""
    if channel.status != Channel.Status.ACTIVE:
        return channel.status
    return "degraded" if activity.failed else "healthy"


def health_data(channel: Channel, activity: ChannelActivity) -> dict[str, Any]:
    return {
        "status": health_status(channel, activity),
        # The status reason is an error only while the channel is in error;
        # after a (re)activation it explains the activation instead.
        "lastError": (
            channel.status_reason or None if channel.status == Channel.Status.ERROR else None
        ),
        "lastSentAt": iso(activity.last_sent_at),
        "lastReceivedAt": iso(activity.last_received_at),
        "failedLast24h": activity.failed,
    }


def stats_data(activity: ChannelActivity) -> dict[str, Any]:
    return {
        "period": "24h",
        "sent": activity.sent,
        "received": activity.received,
        "failed": activity.failed,
    }


def channel_resource(channel: Channel, activity: ChannelActivity | None = None) -> dict[str, Any]:
    activity = activity or ChannelActivity()
    return {
        "id": channel.public_id,
        "type": "channel",
        "attributes": {
            "name": channel.name,
            "channelType": channel.type,
            "status": channel.status,
            "statusReason": channel.status_reason or None,
            "config": mask_config(channel.config),
            "metadata": channel.metadata,
            "capabilities": capabilities_data(channel.capabilities),
            "webhookUrl": channel_webhook_url(channel),
            "health": health_data(channel, activity),
            "stats": stats_data(activity),
            "createdAt": iso(channel.created_at),
            "updatedAt": iso(channel.updated_at),
        },
    }


def series_data(channel: Channel, period: str, granularity: str, series: dict) -> dict[str, Any]:
    return {
        "channelId": channel.public_id,
        "period": period,
        "granularity": granularity,
        "start": iso(series["start"]),
        "end": iso(series["end"]),
        "buckets": [{**bucket, "start": iso(bucket["start"])} for bucket in series["buckets"]],
        "totals": series["totals"],
    }
