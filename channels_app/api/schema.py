"""OpenAPI description of the Channels API (drf-spectacular).

Built with the Messages API's helpers (`inline` components, `_errors` listing
the codes per status, the shared meta/pagination components), so the whole
document uses one error and envelope vocabulary. Component names start with
`Channel` to stay unique across the project.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers

from channels_app.api.serializers import (
    ActivateChannelSerializer,
    CreateChannelSerializer,
    DeactivateChannelSerializer,
    UpdateChannelSerializer,
)
from channels_app.capabilities import ALL_CONTENT_TYPES
from channels_app.models import Channel
from messaging.api.schema import _IDEMPOTENCY, _errors, _meta, _pagination, _q, inline

TAG = "Channels"
_ID = OpenApiParameter("channel_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="ch_...")
_NOT_FOUND = (404, "CHANNEL_NOT_FOUND")
_TYPES_HELP = "One of " + ", ".join(Channel.Type.values) + "."


def _capabilities():
    return inline(
        "ChannelCapabilities",
        {
            **{
                content_type: serializers.BooleanField(
                    help_text=f"Can carry `{content_type}` content."
                )
                for content_type in ALL_CONTENT_TYPES
            },
            "deliveryReceipts": serializers.BooleanField(),
            "readReceipts": serializers.BooleanField(),
            "deleteForEveryone": serializers.BooleanField(),
            "deleteWindowSeconds": serializers.IntegerField(
                allow_null=True, help_text="null: no limit (where deleting is supported)."
            ),
            "editMessages": serializers.BooleanField(),
            "editWindowSeconds": serializers.IntegerField(allow_null=True),
            "messageWindowHours": serializers.IntegerField(
                allow_null=True,
                help_text="Hours after the contact's last message during which free-form "
                "messages are allowed; null when the channel has no such window.",
            ),
            "reactions": serializers.BooleanField(),
            "quickReplies": serializers.BooleanField(),
        },
    )


def _health():
    return inline(
        "ChannelHealth",
        {
            "status": serializers.ChoiceField(
                choices=["healthy", "degraded", "pending", "inactive", "error"],
                help_text="healthy/degraded (sends failed in the last 24 h) for an active "
                "channel, else the channel's status.",
            ),
            "lastError": serializers.CharField(
                allow_null=True, help_text="The reason while the channel is in error."
            ),
            "lastSentAt": serializers.DateTimeField(allow_null=True),
            "lastReceivedAt": serializers.DateTimeField(allow_null=True),
            "failedLast24h": serializers.IntegerField(),
        },
    )


def _stats():
    return inline(
        "ChannelStatsSummary",
        {
            "period": serializers.CharField(default="24h"),
            "sent": serializers.IntegerField(help_text="Outbound messages sent (by sentAt)."),
            "received": serializers.IntegerField(help_text="Inbound messages (by createdAt)."),
            "failed": serializers.IntegerField(
                help_text="Outbound messages now failed (by createdAt)."
            ),
        },
    )


def CHANNEL():
    return inline(
        "Channel",
        {
            "id": serializers.CharField(),
            "type": serializers.CharField(default="channel"),
            "attributes": inline(
                "ChannelAttributes",
                {
                    "name": serializers.CharField(),
                    # A plain string: the same choice set is the Conversations API's
                    # channel `type` enum, and one set with two names fails the
                    # schema check (drf-spectacular enum naming).
                    "channelType": serializers.CharField(help_text=_TYPES_HELP),
                    "status": serializers.ChoiceField(choices=Channel.Status.values),
                    "statusReason": serializers.CharField(allow_null=True),
                    "config": serializers.DictField(
                        help_text='Provider settings; secrets read back as "********".'
                    ),
                    "metadata": serializers.DictField(),
                    "capabilities": _capabilities(),
                    "webhookUrl": serializers.URLField(
                        help_text="Where the provider must post inbound events."
                    ),
                    "health": _health(),
                    "stats": _stats(),
                    "createdAt": serializers.DateTimeField(),
                    "updatedAt": serializers.DateTimeField(),
                },
            ),
        },
    )


CHANNEL_RESPONSE = inline("ChannelResponse", {"data": CHANNEL(), "meta": _meta()})
CHANNEL_LIST_RESPONSE = inline(
    "ChannelListResponse",
    {
        "data": serializers.ListField(child=CHANNEL()),
        "meta": inline(
            "ChannelListMeta",
            {"requestId": serializers.CharField(), "pagination": _pagination()},
        ),
    },
)
DEACTIVATE_RESPONSE = inline(
    "ChannelDeactivateResponse",
    {
        "data": CHANNEL(),
        "meta": inline(
            "ChannelDeactivateMeta",
            {
                "requestId": serializers.CharField(),
                "closedConversations": serializers.IntegerField(),
            },
        ),
    },
)

_CONFIG_HELP = (
    "Provider-specific. WhatsApp: phoneNumberId, accessToken (required), businessAccountId, "
    "verifyToken, appSecret. SMS (Twilio): accountSid, authToken, phoneNumber (E.164) "
    "(required). Telegram: botToken (required). Email: fromEmail (required), fromName, "
    "smtpHost/smtpPort/smtpUsername/smtpPassword/smtpUseTls, imapHost/imapPort/imapUsername/"
    "imapPassword/imapUseTls. Webchat: allowedOrigins (required, list of origins), theme. "
    "API: callbackUrl (http(s), optional), callbackSecret (signs the test ping). "
    '`"sandbox": true` skips the credential requirements and starts the channel active.'
)

list_channels = extend_schema(
    tags=[TAG],
    summary="List channels",
    operation_id="listChannels",
    description="Each channel carries its health and 24-hour stats (one query for the page).",
    parameters=[
        _q("page", OpenApiTypes.INT, default=1),
        _q("perPage", OpenApiTypes.INT, default=20, description="1-100"),
        _q("type", enum=Channel.Type.values),
        _q("status", enum=Channel.Status.values),
        _q("search", description="Part of the channel's name."),
        _q(
            "sortBy",
            enum=["createdAt", "updatedAt", "name", "type", "status"],
            default="createdAt",
        ),
        _q("sortOrder", enum=["asc", "desc"], default="desc"),
    ],
    responses={200: CHANNEL_LIST_RESPONSE, **_errors((400, "VALIDATION_ERROR"))},
)
create_channel = extend_schema(
    tags=[TAG],
    summary="Create a channel",
    operation_id="createChannel",
    description="A sandbox channel (or an API channel without callbackUrl) starts `active`; "
    "any other starts `pending` until a successful test or an activation. A channel of the "
    "same type with the same phoneNumberId (WhatsApp), phoneNumber (SMS), botToken "
    "(Telegram) or fromEmail (email) in the workspace is 409 CHANNEL_ALREADY_EXISTS.\n\n"
    + _CONFIG_HELP,
    parameters=[_IDEMPOTENCY],
    request=CreateChannelSerializer,
    responses={
        201: CHANNEL_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR, INVALID_CHANNEL_TYPE"),
            (409, "CHANNEL_ALREADY_EXISTS, IDEMPOTENCY_KEY_REUSED"),
        ),
    },
    examples=[
        OpenApiExample(
            "WhatsApp",
            request_only=True,
            value={
                "name": "WhatsApp Support",
                "type": "whatsapp",
                "config": {
                    "phoneNumberId": "109876543210",
                    "accessToken": "EAAG...",
                    "businessAccountId": "102938475610",
                    "appSecret": "...",
                },
                "metadata": {"team": "support"},
            },
        )
    ],
)
get_channel = extend_schema(
    tags=[TAG],
    summary="Get a channel",
    operation_id="getChannel",
    parameters=[_ID],
    responses={200: CHANNEL_RESPONSE, **_errors(_NOT_FOUND)},
)
update_channel = extend_schema(
    tags=[TAG],
    summary="Rename or reconfigure a channel",
    operation_id="updateChannel",
    parameters=[_ID],
    request=UpdateChannelSerializer,
    responses={
        200: CHANNEL_RESPONSE,
        **_errors((400, "VALIDATION_ERROR"), _NOT_FOUND, (409, "CHANNEL_ALREADY_EXISTS")),
    },
)
delete_channel = extend_schema(
    tags=[TAG],
    summary="Delete a channel",
    operation_id="deleteChannel",
    description="Deletes the channel with its conversations and messages. Refused while "
    "conversations are open, pending or snoozed, unless force=true.",
    parameters=[_ID, _q("force", OpenApiTypes.BOOL, default=False)],
    responses={
        204: None,
        **_errors((400, "ACTIVE_CONVERSATIONS_EXIST, VALIDATION_ERROR"), _NOT_FOUND),
    },
)
test_channel = extend_schema(
    tags=[TAG],
    summary="Test a channel's configuration",
    operation_id="testChannel",
    description="Calls the provider (or the local stand-in). Success makes a pending or "
    "failing channel active; credentials the provider refuses (4xx) put it in `error`.",
    parameters=[_ID, _IDEMPOTENCY],
    request=None,
    responses={
        200: inline(
            "ChannelTestResponse",
            {
                "data": inline(
                    "ChannelTestResult",
                    {
                        "success": serializers.BooleanField(),
                        "latency": serializers.IntegerField(help_text="Milliseconds."),
                        "error": serializers.CharField(required=False),
                        "channelStatus": serializers.CharField(
                            help_text="The channel's status after the test: "
                            + ", ".join(Channel.Status.values)
                        ),
                    },
                ),
                "meta": _meta(),
            },
        ),
        **_errors(_NOT_FOUND),
    },
)
activate_channel = extend_schema(
    tags=[TAG],
    summary="Activate a channel",
    operation_id="activateChannel",
    parameters=[_ID, _IDEMPOTENCY],
    request=ActivateChannelSerializer,
    responses={
        200: CHANNEL_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (400, "CHANNEL_ACTIVATION_FAILED"),
            _NOT_FOUND,
            (503, "PROVIDER_UNAVAILABLE"),
        ),
    },
)
deactivate_channel = extend_schema(
    tags=[TAG],
    summary="Deactivate a channel",
    operation_id="deactivateChannel",
    parameters=[_ID, _IDEMPOTENCY],
    request=DeactivateChannelSerializer,
    responses={200: DEACTIVATE_RESPONSE, **_errors((400, "VALIDATION_ERROR"), _NOT_FOUND)},
)
channel_stats = extend_schema(
    tags=[TAG],
    summary="A channel's traffic per time bucket",
    operation_id="getChannelStats",
    description="Counts over [now - period, now] in UTC-aligned buckets (the first and last "
    "are partial; empty ones are zero). sent: outbound by sentAt; received: inbound by "
    "createdAt; failed: outbound now failed, by createdAt. More than 1000 buckets is 400.",
    parameters=[
        _ID,
        _q("period", enum=["1h", "24h", "7d", "30d"], default="24h"),
        _q(
            "granularity",
            enum=["minute", "hour", "day"],
            description="Default: minute for 1h, hour for 24h, day for 7d and 30d.",
        ),
    ],
    responses={
        200: inline(
            "ChannelStatsResponse",
            {
                "data": inline(
                    "ChannelStats",
                    {
                        "channelId": serializers.CharField(),
                        "period": serializers.CharField(),
                        "granularity": serializers.CharField(),
                        "start": serializers.DateTimeField(),
                        "end": serializers.DateTimeField(),
                        "buckets": serializers.ListField(
                            child=inline(
                                "ChannelStatsBucket",
                                {
                                    "start": serializers.DateTimeField(),
                                    "sent": serializers.IntegerField(),
                                    "received": serializers.IntegerField(),
                                    "failed": serializers.IntegerField(),
                                },
                            )
                        ),
                        "totals": inline(
                            "ChannelStatsTotals",
                            {
                                "sent": serializers.IntegerField(),
                                "received": serializers.IntegerField(),
                                "failed": serializers.IntegerField(),
                            },
                        ),
                    },
                ),
                "meta": _meta(),
            },
        ),
        **_errors((400, "VALIDATION_ERROR"), _NOT_FOUND),
    },
)
