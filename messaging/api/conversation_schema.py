"""OpenAPI description of the Conversations API (drf-spectacular).

The views render plain dicts (`representations.conversation_resource`), so
the shapes are described here once, with the error codes each endpoint can
answer, and attached to the views with the decorators at the bottom. Helpers
and shared components (errors, messages, meta) come from the Messages schema;
every component defined here is prefixed `Conversation`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers

from channels_app.models import Channel
from messaging.api.conversation_filters import SORT_FIELDS
from messaging.api.conversation_serializers import (
    AssignConversationSerializer,
    CloseConversationSerializer,
    CreateConversationSerializer,
    TransferConversationSerializer,
    UpdateConversationSerializer,
    enum_field,
)
from messaging.api.schema import CONTENT, MESSAGE, _errors, _meta, _pagination, _q, inline
from messaging.models import Conversation

TAG = "Conversations"
STATUSES = Conversation.Status.values
PRIORITIES = Conversation.Priority.values
IDEMPOTENCY_CONFLICTS = "IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_REQUEST_IN_PROGRESS"

# --- Components ------------------------------------------------------------------


def _with(serializer: serializers.Serializer, **options: object) -> serializers.Serializer:
    """Field options (allow_null, required, help_text) on a fresh component instance."""
    for option, value in options.items():
        setattr(serializer, option, value)
    return serializer


def _user_ref(help_text: str, **options: object) -> serializers.Serializer:
    serializer = inline(
        "ConversationUserRef",
        {
            "id": serializers.CharField(help_text="user_..."),
            "type": enum_field(["user"]),
            "name": serializers.CharField(),
        },
    )
    return _with(serializer, help_text=help_text, **options)


def _attributes() -> serializers.Serializer:
    return inline(
        "ConversationAttributes",
        {
            "status": enum_field(STATUSES),
            "priority": enum_field(PRIORITIES),
            "channel": inline(
                "ConversationChannelRef",
                {
                    "id": serializers.CharField(help_text="ch_..."),
                    "type": enum_field(Channel.Type.values),
                    "name": serializers.CharField(),
                },
            ),
            "contact": inline(
                "ConversationContactRef",
                {
                    "id": serializers.CharField(help_text="contact_..."),
                    "name": serializers.CharField(),
                    "phone": serializers.CharField(allow_null=True),
                    "email": serializers.EmailField(allow_null=True),
                    "avatar": serializers.URLField(allow_null=True),
                },
            ),
            "assignee": _user_ref("The assigned agent, or null.", allow_null=True),
            "lastMessage": _with(
                inline(
                    "ConversationLastMessage",
                    {
                        "id": serializers.CharField(help_text="msg_..."),
                        "content": CONTENT(),
                        "direction": enum_field(["inbound", "outbound"]),
                        "timestamp": serializers.DateTimeField(),
                    },
                ),
                allow_null=True,
                help_text="The newest message, or null before the first one.",
            ),
            "unreadCount": serializers.IntegerField(),
            "messageCount": serializers.IntegerField(),
            "firstMessageAt": serializers.DateTimeField(allow_null=True),
            "lastMessageAt": serializers.DateTimeField(allow_null=True),
            "metadata": serializers.DictField(),
            "tags": serializers.ListField(child=serializers.CharField()),
            "createdAt": serializers.DateTimeField(),
            "updatedAt": serializers.DateTimeField(),
            "assignedAt": serializers.DateTimeField(required=False, help_text="Once assigned."),
            "snoozedUntil": serializers.DateTimeField(required=False, help_text="While snoozed."),
            "closedAt": serializers.DateTimeField(required=False, help_text="While closed."),
            "closedBy": _user_ref(
                "The agent who closed it (absent when closed by an API key).", required=False
            ),
            "resolution": serializers.ChoiceField(
                choices=Conversation.Resolution.values, required=False, help_text="While closed."
            ),
            "closureReason": serializers.CharField(required=False, help_text="While closed."),
            "reopenedAt": serializers.DateTimeField(required=False, help_text="Once reopened."),
        },
    )


def CONVERSATION() -> serializers.Serializer:
    return inline(
        "Conversation",
        {
            "id": serializers.CharField(help_text="conv_..."),
            "type": enum_field(["conversation"]),
            "attributes": _attributes(),
            "relationships": _with(
                inline(
                    "ConversationRelationships",
                    {
                        "messages": serializers.ListField(
                            child=MESSAGE(),
                            help_text="The newest messageLimit messages, oldest first.",
                        )
                    },
                ),
                required=False,
                help_text="Only with includeMessages=true.",
            ),
        },
    )


CONVERSATION_RESPONSE = inline("ConversationResponse", {"data": CONVERSATION(), "meta": _meta()})
CONVERSATION_LIST_RESPONSE = inline(
    "ConversationListResponse",
    {
        "data": serializers.ListField(child=CONVERSATION()),
        "meta": inline(
            "ConversationListMeta",
            {"requestId": serializers.CharField(), "pagination": _pagination()},
        ),
    },
)
PARTICIPANTS_RESPONSE = inline(
    "ConversationParticipantsResponse",
    {
        "data": serializers.ListField(
            child=inline(
                "ConversationParticipant",
                {
                    "id": serializers.CharField(help_text="contact_... or user_..."),
                    "type": enum_field(["contact", "user"]),
                    "attributes": inline(
                        "ConversationParticipantAttributes",
                        {
                            "name": serializers.CharField(),
                            "phone": serializers.CharField(
                                required=False, allow_null=True, help_text="Contacts."
                            ),
                            "email": serializers.EmailField(allow_null=True),
                            "role": serializers.CharField(
                                allow_null=True,
                                help_text="`contact`, or the agent's workspace role "
                                "(`admin`, `agent`; null if no longer a member).",
                            ),
                        },
                    ),
                },
            )
        ),
        "meta": _meta(),
    },
)

# --- Parameters ------------------------------------------------------------------

_ID = OpenApiParameter(
    "conversation_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="conv_..."
)
_IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Replays within 24 h return the original answer; another body is 409 "
    "IDEMPOTENCY_KEY_REUSED.",
)

# --- Operations ------------------------------------------------------------------

list_conversations = extend_schema(
    tags=[TAG],
    summary="List conversations",
    operation_id="listConversations",
    parameters=[
        _q("page", OpenApiTypes.INT, default=1),
        _q("perPage", OpenApiTypes.INT, default=20, description="1-100"),
        _q("status", enum=STATUSES),
        _q("channelId", description="ch_..."),
        _q("channelType", enum=Channel.Type.values),
        _q(
            "assigneeId",
            description="user_...; `me` = the calling agent (agent access tokens only, "
            "400 with an API key); `none` = unassigned.",
        ),
        _q("contactId", description="contact_..."),
        _q("startDate", OpenApiTypes.DATETIME, description="Created at or after."),
        _q("endDate", OpenApiTypes.DATETIME, description="Created at or before."),
        _q("search", description="Contact name, phone or email, or words in a message."),
        _q("tag", description="Conversations carrying this tag."),
        _q("priority", enum=PRIORITIES),
        _q("sortBy", enum=list(SORT_FIELDS), default="updatedAt"),
        _q("sortOrder", enum=["asc", "desc"], default="desc"),
    ],
    responses={200: CONVERSATION_LIST_RESPONSE, **_errors((400, "VALIDATION_ERROR"))},
)
get_conversation = extend_schema(
    tags=[TAG],
    summary="Get a conversation",
    operation_id="getConversation",
    parameters=[
        _ID,
        _q(
            "includeMessages",
            OpenApiTypes.BOOL,
            default=False,
            description="Add relationships.messages.",
        ),
        _q("messageLimit", OpenApiTypes.INT, default=20, description="1-100"),
    ],
    responses={
        200: CONVERSATION_RESPONSE,
        **_errors((400, "VALIDATION_ERROR"), (404, "CONVERSATION_NOT_FOUND")),
    },
)
create_conversation = extend_schema(
    tags=[TAG],
    summary="Start a conversation",
    operation_id="createConversation",
    description="Give `contactId`, or `contact` with a phone (E.164) and/or email: the "
    "contact with that phone, else that email, is used, or a new one is created. A "
    "WhatsApp/SMS conversation needs the contact's phone, an email one their email.",
    parameters=[_IDEMPOTENCY],
    request=CreateConversationSerializer,
    responses={
        201: CONVERSATION_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (404, "CHANNEL_NOT_FOUND, CONTACT_NOT_FOUND"),
            (409, "CONVERSATION_EXISTS, RESOURCE_ALREADY_EXISTS, " + IDEMPOTENCY_CONFLICTS),
        ),
    },
    examples=[
        OpenApiExample(
            "New contact",
            request_only=True,
            value={
                "channelId": "ch_xyz789",
                "contact": {"phone": "+5511999999999", "name": "Ana Souza"},
                "tags": ["vip"],
                "metadata": {"orderId": "12345"},
            },
        )
    ],
)
update_conversation = extend_schema(
    tags=[TAG],
    summary="Update a conversation",
    operation_id="updateConversation",
    description="`metadata` is merged, `tags` replaced. `status` moves through the "
    "lifecycle: `snoozed` needs `snoozedUntil`; `open` wakes a snoozed conversation or "
    "reopens a closed one; `pending` is refused on a closed one (reopen it first).",
    parameters=[_ID],
    request=UpdateConversationSerializer,
    responses={
        200: CONVERSATION_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (404, "CONVERSATION_NOT_FOUND"),
            (409, "INVALID_STATE, CONVERSATION_EXISTS"),
        ),
    },
)
close_conversation = extend_schema(
    tags=[TAG],
    summary="Close a conversation",
    operation_id="closeConversation",
    parameters=[_ID, _IDEMPOTENCY],
    request=CloseConversationSerializer,
    responses={
        200: CONVERSATION_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (404, "CONVERSATION_NOT_FOUND"),
            (409, "INVALID_STATE, " + IDEMPOTENCY_CONFLICTS),
        ),
    },
)
reopen_conversation = extend_schema(
    tags=[TAG],
    summary="Reopen a closed conversation",
    operation_id="reopenConversation",
    parameters=[_ID, _IDEMPOTENCY],
    request=None,
    responses={
        200: CONVERSATION_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (404, "CONVERSATION_NOT_FOUND"),
            (409, "INVALID_STATE, CONVERSATION_EXISTS, " + IDEMPOTENCY_CONFLICTS),
        ),
    },
)
assign_conversation = extend_schema(
    tags=[TAG],
    summary="Assign or unassign a conversation",
    operation_id="assignConversation",
    description="`assigneeId` must be an agent of this workspace (else 400 naming it); "
    "null unassigns.",
    parameters=[_ID, _IDEMPOTENCY],
    request=AssignConversationSerializer,
    responses={
        200: CONVERSATION_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (404, "CONVERSATION_NOT_FOUND"),
            (409, IDEMPOTENCY_CONFLICTS),
        ),
    },
)
transfer_conversation = extend_schema(
    tags=[TAG],
    summary="Transfer a conversation to another agent",
    operation_id="transferConversation",
    description="Assigns the conversation to `toAssigneeId`, keeps `summary` as a private "
    "note, and with `notifyContact` sends the contact a short text message through the "
    "channel. All or nothing: if that message cannot be sent, nothing changes.",
    parameters=[_ID, _IDEMPOTENCY],
    request=TransferConversationSerializer,
    responses={
        200: CONVERSATION_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR, INVALID_RECIPIENT, UNSUPPORTED_CONTENT_TYPE"),
            (404, "CONVERSATION_NOT_FOUND"),
            (409, "INVALID_STATE, " + IDEMPOTENCY_CONFLICTS),
            (422, "CHANNEL_NOT_CONNECTED, OUTSIDE_MESSAGE_WINDOW"),
        ),
    },
)
list_participants = extend_schema(
    tags=[TAG],
    summary="List a conversation's participants",
    operation_id="listConversationParticipants",
    description="The contact, then the agents who sent messages in it or are or were "
    "assigned to it.",
    parameters=[_ID],
    responses={200: PARTICIPANTS_RESPONSE, **_errors((404, "CONVERSATION_NOT_FOUND"))},
)
