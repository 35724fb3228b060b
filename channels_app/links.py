"""Where things of a channel live on this deployment, as paths and absolute URLs."""

from __future__ import annotations

from channels_app.models import Channel
from inbox.links import absolute_url


def channel_webhook_path(channel: Channel) -> str:
    """The path a provider posts inbound events to for `channel`.

    The one place this path is spelled: the inbound webhook endpoint routes
    it, and the API shows it as `webhookUrl`. The token is unguessable, so the
    URL itself tells which channel an event belongs to.
    """
    return f"/webhooks/channels/{channel.inbound_token}/"


def channel_webhook_url(channel: Channel) -> str:
    return absolute_url(channel_webhook_path(channel))
