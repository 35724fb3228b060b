"""Channels API views: a typed parse of the request, one service or selector call, render.

Lookups by id go through `messaging.selectors.get_channel_for(workspace, id)`,
so another workspace's ids answer 404 CHANNEL_NOT_FOUND exactly like unknown
ones. Reads need `channels:read`, writes `channels:write`; an agent's access
token may read channels but only a workspace admin may change them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.api import schema
from channels_app.api.filters import ChannelFilter
from channels_app.api.representations import channel_resource, series_data
from channels_app.api.serializers import (
    ActivateChannelSerializer,
    CreateChannelSerializer,
    DeactivateChannelSerializer,
    UpdateChannelSerializer,
)
from channels_app.models import Channel
from channels_app.selectors import (
    ChannelActivity,
    bucket_count,
    channel_activity,
    channel_series,
    channels_for,
)
from channels_app.services import (
    activate_channel,
    check_channel,
    create_channel,
    deactivate_channel,
    delete_channel,
    update_channel,
)
from inbox.api import envelope
from inbox.api.filtering import filtered
from inbox.api.pagination import paginate
from inbox.api.views import ApiView
from inbox.errors import ValidationFailed
from inbox.models import Membership
from messaging.api.views import _bool_param, _validated
from messaging.selectors import get_channel_for

READ = "channels:read"
WRITE = "channels:write"

PERIODS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_GRANULARITY = {"1h": "minute", "24h": "hour", "7d": "day", "30d": "day"}
MAX_BUCKETS = 1000


class AdminForChannelWrites(BasePermission):
    """Channel writes by an agent's access token need the admin role.

    API keys act for the whole workspace (`principal.role` is None) and are
    limited by their scopes only.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        role = getattr(request.auth, "role", None)
        if request.method in SAFE_METHODS or role is None or role == Membership.Role.ADMIN:
            return True
        raise PermissionDenied("Only workspace admins can change channels.")


class ChannelApiView(ApiView):
    permission_classes = [*ApiView.permission_classes, AdminForChannelWrites]

    def render_channel(self, channel: Channel, *, status: int = 200, **meta: Any) -> Response:
        activity = channel_activity([channel.pk]).get(channel.pk)
        return envelope.single(
            self.request, channel_resource(channel, activity), status=status, **meta
        )


class ChannelListView(ChannelApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @schema.list_channels
    def get(self, request: Request) -> Response:
        filterset = ChannelFilter(request.query_params, queryset=channels_for(self.workspace))
        page = paginate(filtered(filterset), request.query_params)
        # Health and 24-hour stats of the whole page in one grouped query.
        activity = channel_activity([c.pk for c in page.items])
        return envelope.collection(
            request,
            [channel_resource(c, activity.get(c.pk, ChannelActivity())) for c in page.items],
            **page.meta(),
        )

    @schema.create_channel
    def post(self, request: Request) -> Response:
        data = _validated(CreateChannelSerializer, request.data)
        channel = create_channel(
            workspace=self.workspace,
            type=data["type"],
            name=data["name"],
            config=data["config"],
            metadata=data["metadata"],
        )
        return self.render_channel(channel, status=201)


class ChannelDetailView(ChannelApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @schema.get_channel
    def get(self, request: Request, channel_id: str) -> Response:
        return self.render_channel(get_channel_for(self.workspace, channel_id))

    @schema.update_channel
    def patch(self, request: Request, channel_id: str) -> Response:
        data = _validated(UpdateChannelSerializer, request.data)
        channel = update_channel(
            channel=get_channel_for(self.workspace, channel_id),
            name=data.get("name"),
            config=data.get("config"),
            metadata=data.get("metadata"),
        )
        return self.render_channel(channel)

    @schema.delete_channel
    def delete(self, request: Request, channel_id: str) -> Response:
        force = _bool_param(request, "force")
        delete_channel(channel=get_channel_for(self.workspace, channel_id), force=force)
        return Response(status=204)


class ChannelTestView(ChannelApiView):
    required_scopes = {"POST": WRITE}

    @schema.test_channel
    def post(self, request: Request, channel_id: str) -> Response:
        channel = get_channel_for(self.workspace, channel_id)
        result = check_channel(channel=channel)
        body: dict[str, Any] = {"success": result.ok, "latency": result.latency_ms}
        if not result.ok:
            body["error"] = result.error
        channel.refresh_from_db(fields=["status"])
        body["channelStatus"] = channel.status
        return envelope.single(request, body)


class ChannelActivateView(ChannelApiView):
    required_scopes = {"POST": WRITE}

    @schema.activate_channel
    def post(self, request: Request, channel_id: str) -> Response:
        data = _validated(ActivateChannelSerializer, request.data)
        channel = activate_channel(
            channel=get_channel_for(self.workspace, channel_id), reason=data["reason"]
        )
        return self.render_channel(channel)


class ChannelDeactivateView(ChannelApiView):
    required_scopes = {"POST": WRITE}

    @schema.deactivate_channel
    def post(self, request: Request, channel_id: str) -> Response:
        data = _validated(DeactivateChannelSerializer, request.data)
        channel, closed = deactivate_channel(
            channel=get_channel_for(self.workspace, channel_id),
            reason=data["reason"],
            close_conversations=data["closeConversations"],
            by=self.principal.user,
        )
        return self.render_channel(channel, closedConversations=closed)


class ChannelStatsView(ChannelApiView):
    required_scopes = {"GET": READ}

    @schema.channel_stats
    def get(self, request: Request, channel_id: str) -> Response:
        params = request.query_params
        period = params.get("period") or "24h"
        if period not in PERIODS:
            raise ValidationFailed(f"Must be one of {', '.join(PERIODS)}.", field="period")
        granularity = params.get("granularity") or DEFAULT_GRANULARITY[period]
        if granularity not in ("minute", "hour", "day"):
            raise ValidationFailed("Must be one of minute, hour, day.", field="granularity")
        now = timezone.now()
        if bucket_count(PERIODS[period], granularity, now) > MAX_BUCKETS:
            raise ValidationFailed(
                f"{period} by {granularity} makes more than {MAX_BUCKETS} buckets; "
                "choose a coarser granularity.",
                field="granularity",
            )
        channel = get_channel_for(self.workspace, channel_id)
        series = channel_series(channel, period=PERIODS[period], granularity=granularity, now=now)
        return envelope.single(request, series_data(channel, period, granularity, series))
