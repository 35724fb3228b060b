"""OpenAPI description of the Messages API (drf-spectacular).

The views render plain dicts, so their shapes are described here once, with
the error codes each endpoint can answer, and attached to the views with the
decorators at the bottom.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from messaging.api.serializers import (
    BulkReadSerializer,
    EditMessageSerializer,
    MediaUploadRequestSerializer,
    ReactionRequestSerializer,
)

TAG = "Messages"

_COMPONENTS: dict[str, type] = {}


def inline(name: str, fields: dict) -> serializers.Serializer:
    """A fresh instance of one class per component name.

    drf-spectacular needs one class identity per component, and DRF needs a
    fresh field instance wherever one is nested; this gives both.
    """
    if name not in _COMPONENTS:
        _COMPONENTS[name] = type(inline_serializer(name=name, fields=fields))
    return _COMPONENTS[name]()


# --- Content types ---------------------------------------------------------------


def _content(name: str, fields: dict) -> serializers.Serializer:
    return inline(name=name, fields={"type": serializers.CharField(help_text=name), **fields})


def _quick_reply():
    return inline("QuickReply", {"id": serializers.CharField(), "title": serializers.CharField()})


def _button():
    return inline(
        "Button",
        {
            "type": serializers.ChoiceField(choices=["reply", "url"]),
            "id": serializers.CharField(required=False, help_text="reply buttons"),
            "title": serializers.CharField(),
            "url": serializers.URLField(required=False, help_text="url buttons"),
        },
    )


def _template():
    return inline(
        "Template",
        {
            "name": serializers.CharField(),
            "language": serializers.CharField(),
            "components": serializers.ListField(
                child=inline(
                    "TemplateComponent",
                    {
                        "type": serializers.ChoiceField(
                            choices=["header", "body", "footer", "button"]
                        ),
                        "parameters": serializers.ListField(child=serializers.DictField()),
                    },
                ),
                required=False,
            ),
        },
    )


def CONTENT():
    return PolymorphicProxySerializer(
        component_name="MessageContent",
        serializers={
            "text": _content(
                "TextContent",
                {
                    "text": serializers.CharField(max_length=4096),
                    "quickReplies": serializers.ListField(child=_quick_reply(), required=False),
                },
            ),
            "image": _content(
                "ImageContent",
                {"url": serializers.URLField(), "caption": serializers.CharField(required=False)},
            ),
            "document": _content(
                "DocumentContent",
                {
                    "url": serializers.URLField(),
                    "filename": serializers.CharField(required=False),
                    "caption": serializers.CharField(required=False),
                },
            ),
            "audio": _content("AudioContent", {"url": serializers.URLField()}),
            "video": _content(
                "VideoContent",
                {"url": serializers.URLField(), "caption": serializers.CharField(required=False)},
            ),
            "location": _content(
                "LocationContent",
                {
                    "latitude": serializers.FloatField(min_value=-90, max_value=90),
                    "longitude": serializers.FloatField(min_value=-180, max_value=180),
                    "name": serializers.CharField(required=False),
                    "address": serializers.CharField(required=False),
                },
            ),
            "buttons": _content(
                "ButtonsContent",
                {
                    "text": serializers.CharField(),
                    "buttons": serializers.ListField(child=_button()),
                },
            ),
            "template": _content("TemplateContent", {"template": _template()}),
        },
        resource_type_field_name="type",
    )


SEND_REQUEST = inline(
    "SendMessageRequest",
    {
        "channelId": serializers.CharField(required=False, help_text="Channel to send through."),
        "conversationId": serializers.CharField(required=False),
        "to": serializers.CharField(
            required=False,
            help_text="Recipient (E.164 for WhatsApp/SMS); needed without conversationId.",
        ),
        "content": CONTENT(),
        "metadata": serializers.DictField(required=False),
        "scheduledAt": serializers.DateTimeField(
            required=False, help_text="ISO 8601, in the future."
        ),
        "replyToId": serializers.CharField(required=False),
        "isPrivate": serializers.BooleanField(required=False, help_text="An agent-only note."),
    },
)

# --- Responses -------------------------------------------------------------------


def _status_entry():
    return inline(
        "StatusHistoryEntry",
        {"status": serializers.CharField(), "timestamp": serializers.DateTimeField()},
    )


def REACTION():
    return inline(
        "Reaction",
        {
            "id": serializers.CharField(),
            "type": serializers.CharField(help_text="Tapback name or emoji."),
            "emoji": serializers.CharField(),
            "isFromMe": serializers.BooleanField(),
            "from": serializers.CharField(allow_null=True),
            "createdAt": serializers.DateTimeField(),
        },
    )


def ATTACHMENT():
    return inline(
        "Attachment",
        {
            "id": serializers.CharField(),
            "url": serializers.URLField(),
            "filename": serializers.CharField(),
            "mimeType": serializers.CharField(),
            "size": serializers.IntegerField(allow_null=True),
        },
    )


def MESSAGE():
    return inline(
        "Message",
        {
            "id": serializers.CharField(),
            "type": serializers.CharField(default="message"),
            "attributes": inline(
                "MessageAttributes",
                {
                    "conversationId": serializers.CharField(),
                    "channelId": serializers.CharField(),
                    "channelType": serializers.CharField(),
                    "direction": serializers.ChoiceField(choices=["inbound", "outbound"]),
                    "senderType": serializers.ChoiceField(
                        choices=["agent", "contact", "bot", "system"]
                    ),
                    "from": serializers.CharField(),
                    "to": serializers.CharField(),
                    "content": CONTENT(),
                    "status": serializers.ChoiceField(
                        choices=["pending", "sent", "delivered", "read", "failed"]
                    ),
                    "statusHistory": serializers.ListField(child=_status_entry()),
                    "metadata": serializers.DictField(),
                    "externalId": serializers.CharField(allow_null=True),
                    "isPrivate": serializers.BooleanField(),
                    "replyToId": serializers.CharField(allow_null=True),
                    "failureCode": serializers.CharField(allow_null=True),
                    "failureReason": serializers.CharField(allow_null=True),
                    "scheduledAt": serializers.DateTimeField(allow_null=True),
                    "createdAt": serializers.DateTimeField(),
                    "sentAt": serializers.DateTimeField(allow_null=True),
                    "deliveredAt": serializers.DateTimeField(allow_null=True),
                    "readAt": serializers.DateTimeField(allow_null=True),
                    "editedAt": serializers.DateTimeField(allow_null=True),
                    "deletedAt": serializers.DateTimeField(allow_null=True),
                    "reactions": serializers.ListField(child=REACTION()),
                    "attachments": serializers.ListField(child=ATTACHMENT()),
                },
            ),
        },
    )


def _meta():
    return inline("ResponseMeta", {"requestId": serializers.CharField()})


def _pagination():
    return inline(
        "Pagination",
        {
            "page": serializers.IntegerField(),
            "perPage": serializers.IntegerField(),
            "totalPages": serializers.IntegerField(),
            "totalCount": serializers.IntegerField(),
            "hasNextPage": serializers.BooleanField(),
            "hasPrevPage": serializers.BooleanField(),
            "totalCountExact": serializers.BooleanField(
                help_text="false when totalCount is PostgreSQL's estimate"
            ),
        },
    )


def _single(name: str, data: serializers.Serializer) -> serializers.Serializer:
    return inline(name=name, fields={"data": data, "meta": _meta()})


MESSAGE_RESPONSE = _single("MessageResponse", MESSAGE())
MESSAGE_LIST_RESPONSE = inline(
    "MessageListResponse",
    {
        "data": serializers.ListField(child=MESSAGE()),
        "meta": inline(
            "ListMeta",
            {"requestId": serializers.CharField(), "pagination": _pagination()},
        ),
    },
)
THREAD_RESPONSE = inline(
    "ThreadResponse",
    {
        "data": serializers.ListField(child=MESSAGE()),
        "meta": inline(
            "CursorMeta",
            {
                "requestId": serializers.CharField(),
                "cursor": inline(
                    "Cursor",
                    {
                        "next": serializers.CharField(allow_null=True),
                        "hasMore": serializers.BooleanField(),
                    },
                ),
            },
        ),
    },
)
ERROR = inline(
    "Error",
    {
        "error": inline(
            "ErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.ListField(
                    child=inline(
                        "ErrorDetail",
                        {
                            "field": serializers.CharField(),
                            "message": serializers.CharField(),
                        },
                    ),
                    required=False,
                ),
                "retryAfter": serializers.IntegerField(required=False),
            },
        ),
        "meta": _meta(),
    },
)


def _errors(*entries: tuple[int, str]) -> dict[int, OpenApiResponse]:
    """Error responses, each listing the codes it can carry."""
    common = [
        (401, "AUTHENTICATION_REQUIRED, INVALID_API_KEY, INVALID_TOKEN, TOKEN_EXPIRED"),
        (403, "INSUFFICIENT_PERMISSIONS"),
        (429, "RATE_LIMIT_EXCEEDED"),
    ]
    by_status: dict[int, list[str]] = {}
    for status, codes in [*entries, *common]:
        by_status.setdefault(status, []).append(codes)
    return {
        status: OpenApiResponse(ERROR, description="Error codes: " + ", ".join(codes))
        for status, codes in by_status.items()
    }


_IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Replays within 24 h return the original answer; another body is 409 "
    "IDEMPOTENCY_KEY_REUSED.",
)
_ID = OpenApiParameter("message_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="msg_...")


def _q(name: str, kind: object = OpenApiTypes.STR, **kwargs: object) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, **kwargs)


send_message = extend_schema(
    tags=[TAG],
    summary="Send a message",
    operation_id="sendMessage",
    request=SEND_REQUEST,
    parameters=[_IDEMPOTENCY],
    responses={
        201: MESSAGE_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR, INVALID_RECIPIENT, UNSUPPORTED_CONTENT_TYPE"),
            (404, "CHANNEL_NOT_FOUND, CONVERSATION_NOT_FOUND, MESSAGE_NOT_FOUND"),
            (409, "IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_REQUEST_IN_PROGRESS"),
            (422, "CHANNEL_NOT_CONNECTED, OUTSIDE_MESSAGE_WINDOW"),
        ),
    },
    examples=[
        OpenApiExample(
            "Text",
            request_only=True,
            value={
                "channelId": "ch_xyz789",
                "to": "+5511999999999",
                "content": {"type": "text", "text": "Hello! Your order #12345 has been shipped."},
                "metadata": {"orderId": "12345", "notificationType": "shipping"},
            },
        )
    ],
)
list_messages = extend_schema(
    tags=[TAG],
    summary="List messages",
    operation_id="listMessages",
    parameters=[
        _q("page", OpenApiTypes.INT, default=1),
        _q("perPage", OpenApiTypes.INT, default=20, description="1-100"),
        _q("conversationId"),
        _q("channelId"),
        _q("direction", enum=["inbound", "outbound"]),
        _q("status", enum=["pending", "sent", "delivered", "read", "failed"]),
        _q(
            "contentType",
            enum=["text", "image", "document", "audio", "video", "location", "buttons", "template"],
        ),
        _q("startDate", OpenApiTypes.DATETIME),
        _q("endDate", OpenApiTypes.DATETIME),
        _q("search", description="Words in the message text."),
        _q(
            "sortBy",
            enum=["createdAt", "sentAt", "deliveredAt", "readAt", "status"],
            default="createdAt",
        ),
        _q("sortOrder", enum=["asc", "desc"], default="desc"),
    ],
    responses={200: MESSAGE_LIST_RESPONSE, **_errors((400, "VALIDATION_ERROR"))},
)
get_message = extend_schema(
    tags=[TAG],
    summary="Get a message",
    operation_id="getMessage",
    parameters=[_ID],
    responses={200: MESSAGE_RESPONSE, **_errors((404, "MESSAGE_NOT_FOUND"))},
)
edit_message = extend_schema(
    tags=[TAG],
    summary="Edit an outbound text message",
    operation_id="editMessage",
    parameters=[_ID],
    request=EditMessageSerializer,
    responses={
        200: MESSAGE_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR, EDIT_NOT_SUPPORTED, EDIT_WINDOW_EXPIRED"),
            (404, "MESSAGE_NOT_FOUND"),
        ),
    },
)
delete_message = extend_schema(
    tags=[TAG],
    summary="Delete a message",
    operation_id="deleteMessage",
    parameters=[_ID, _q("forEveryone", OpenApiTypes.BOOL, default=False)],
    responses={
        200: _single(
            "DeleteMessageResponse",
            inline(
                "DeletedMessage",
                {
                    "id": serializers.CharField(),
                    "deleted": serializers.BooleanField(),
                    "forEveryone": serializers.BooleanField(),
                    "deletedAt": serializers.DateTimeField(),
                },
            ),
        ),
        **_errors(
            (400, "DELETE_NOT_SUPPORTED, DELETE_WINDOW_EXPIRED, VALIDATION_ERROR"),
            (404, "MESSAGE_NOT_FOUND"),
        ),
    },
)
mark_read = extend_schema(
    tags=[TAG],
    summary="Mark a message as read",
    operation_id="markMessageRead",
    parameters=[_ID, _IDEMPOTENCY],
    request=None,
    responses={200: MESSAGE_RESPONSE, **_errors((404, "MESSAGE_NOT_FOUND"))},
)
bulk_read = extend_schema(
    tags=[TAG],
    summary="Mark many messages as read",
    operation_id="bulkMarkRead",
    parameters=[_IDEMPOTENCY],
    request=BulkReadSerializer,
    responses={
        200: _single(
            "BulkReadResponse",
            inline(
                "BulkReadResult",
                {
                    "markedCount": serializers.IntegerField(),
                    "conversationId": serializers.CharField(required=False),
                },
            ),
        ),
        **_errors((400, "VALIDATION_ERROR"), (404, "CONVERSATION_NOT_FOUND")),
    },
)
conversation_messages = extend_schema(
    tags=[TAG],
    summary="List a conversation's messages (cursor pages)",
    operation_id="listConversationMessages",
    parameters=[
        OpenApiParameter("conversation_id", OpenApiTypes.STR, OpenApiParameter.PATH),
        _q("cursor", description="meta.cursor.next of the previous page"),
        _q("limit", OpenApiTypes.INT, default=50, description="1-100"),
        _q("direction", enum=["before", "after"], default="before"),
    ],
    responses={
        200: THREAD_RESPONSE,
        **_errors((400, "VALIDATION_ERROR"), (404, "CONVERSATION_NOT_FOUND")),
    },
)
list_reactions = extend_schema(
    tags=[TAG],
    summary="List a message's reactions",
    operation_id="listReactions",
    parameters=[_ID],
    responses={
        200: inline(
            "ReactionListResponse",
            {"data": serializers.ListField(child=REACTION()), "meta": _meta()},
        ),
        **_errors((404, "MESSAGE_NOT_FOUND")),
    },
)
react = extend_schema(
    tags=[TAG],
    summary="Add or remove a reaction",
    operation_id="reactToMessage",
    parameters=[_ID, _IDEMPOTENCY],
    request=ReactionRequestSerializer,
    responses={
        201: _single("ReactionResponse", REACTION()),
        200: _single("ReactionRemovedResponse", REACTION()),
        **_errors((400, "VALIDATION_ERROR"), (404, "MESSAGE_NOT_FOUND")),
    },
)
upload_media = extend_schema(
    tags=["Media"],
    summary="Upload media for a later message",
    operation_id="uploadMedia",
    parameters=[_IDEMPOTENCY],
    request={"multipart/form-data": MediaUploadRequestSerializer},
    responses={
        201: _single(
            "MediaUploadResponse",
            inline(
                "MediaUpload",
                {
                    "id": serializers.CharField(),
                    "type": serializers.CharField(),
                    "url": serializers.URLField(),
                    "filename": serializers.CharField(),
                    "mimeType": serializers.CharField(),
                    "size": serializers.IntegerField(),
                    "expiresAt": serializers.DateTimeField(),
                },
            ),
        ),
        **_errors((400, "VALIDATION_ERROR")),
    },
)
