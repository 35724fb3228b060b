"""Messages API views: a typed parse of the request, one service or selector call.

Every lookup by id goes through `messaging.selectors.get_*_for(workspace, id)`,
so another workspace's ids answer 404 exactly like unknown ones.
"""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api import envelope
from inbox.api.filtering import filtered
from inbox.api.pagination import decode_cursor, encode_cursor, limit_param, paginate
from inbox.api.views import ApiView
from inbox.errors import ValidationFailed
from inbox.timefmt import iso
from messaging.api import schema
from messaging.api.filters import MessageFilter
from messaging.api.serializers import (
    BulkReadSerializer,
    EditMessageSerializer,
    MediaUploadRequestSerializer,
    ReactionRequestSerializer,
    SendMessageSerializer,
)
from messaging.models import Reaction
from messaging.representations import message_resource, reaction_data
from messaging.selectors import (
    get_channel_for,
    get_conversation_for,
    get_message_for,
    messages_for,
    thread_page,
)
from messaging.services import (
    bulk_mark_read,
    delete_message,
    edit_message,
    mark_read,
    react_to_message,
    send_message,
)
from messaging.services.media import create_media_upload, media_upload_url

READ = "messages:read"
WRITE = "messages:write"


def _validated(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").strip().lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no", ""):
        return False
    raise ValidationFailed("Must be true or false.", field=name)


class MessageListView(ApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @schema.list_messages
    def get(self, request: Request) -> Response:
        filterset = MessageFilter(
            request.query_params, queryset=messages_for(self.workspace), workspace=self.workspace
        )
        queryset = filtered(filterset)
        page = paginate(queryset, request.query_params)
        return envelope.collection(
            request, [message_resource(m) for m in page.items], **page.meta()
        )

    @schema.send_message
    def post(self, request: Request) -> Response:
        data = _validated(SendMessageSerializer, request.data)
        channel = (
            get_channel_for(self.workspace, data["channelId"]) if data.get("channelId") else None
        )
        conversation = (
            get_conversation_for(self.workspace, data["conversationId"])
            if data.get("conversationId")
            else None
        )
        reply_to = (
            get_message_for(self.workspace, data["replyToId"]) if data.get("replyToId") else None
        )
        message = send_message(
            workspace=self.workspace,
            channel=channel,
            conversation=conversation,
            to=data.get("to"),
            content=data["content"],
            metadata=data.get("metadata"),
            scheduled_at=data.get("scheduledAt"),
            sender_user=self.principal.user,
            is_private=data.get("isPrivate", False),
            idempotency_key=request.headers.get("Idempotency-Key"),
            reply_to=reply_to,
        )
        return envelope.single(request, message_resource(message), status=201)


class MessageDetailView(ApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @schema.get_message
    def get(self, request: Request, message_id: str) -> Response:
        return envelope.single(
            request, message_resource(get_message_for(self.workspace, message_id))
        )

    @schema.edit_message
    def patch(self, request: Request, message_id: str) -> Response:
        data = _validated(EditMessageSerializer, request.data)
        message = get_message_for(self.workspace, message_id)
        return envelope.single(
            request, message_resource(edit_message(message=message, content=data["content"]))
        )

    @schema.delete_message
    def delete(self, request: Request, message_id: str) -> Response:
        for_everyone = _bool_param(request, "forEveryone")
        message = get_message_for(self.workspace, message_id)
        deleted = delete_message(message=message, for_everyone=for_everyone)
        return envelope.single(
            request,
            {
                "id": deleted.public_id,
                "deleted": True,
                "forEveryone": deleted.deleted_for_everyone,
                "deletedAt": iso(deleted.deleted_at),
            },
        )


class MessageReadView(ApiView):
    required_scopes = {"POST": WRITE}

    @schema.mark_read
    def post(self, request: Request, message_id: str) -> Response:
        message = mark_read(message=get_message_for(self.workspace, message_id))
        return envelope.single(request, message_resource(message))


class BulkReadView(ApiView):
    required_scopes = {"POST": WRITE}

    @schema.bulk_read
    def post(self, request: Request) -> Response:
        data = _validated(BulkReadSerializer, request.data)
        conversation = (
            get_conversation_for(self.workspace, data["conversationId"])
            if data.get("conversationId")
            else None
        )
        marked = bulk_mark_read(
            workspace=self.workspace,
            message_ids=data.get("messageIds"),
            conversation=conversation,
            before=data.get("beforeTimestamp"),
        )
        body: dict[str, Any] = {"markedCount": marked}
        if conversation is not None:
            body["conversationId"] = conversation.public_id
        return envelope.single(request, body)


class ConversationMessagesView(ApiView):
    required_scopes = {"GET": READ}

    @schema.conversation_messages
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = get_conversation_for(self.workspace, conversation_id)
        params = request.query_params
        direction = params.get("direction") or "before"
        if direction not in ("before", "after"):
            raise ValidationFailed("Must be 'before' or 'after'.", field="direction")
        cursor = decode_cursor(params["cursor"]) if params.get("cursor") else None
        limit = limit_param(params, default=50)
        rows, has_more = thread_page(conversation, limit=limit, cursor=cursor, direction=direction)
        # `next` continues in the direction asked: from the oldest row of the
        # page going back, from the newest going forward.
        next_cursor = None
        if rows and has_more:
            edge = rows[0] if direction == "before" else rows[-1]
            next_cursor = encode_cursor(edge.created_at, edge.pk)
        return envelope.collection(
            request,
            [message_resource(m) for m in rows],
            cursor={"next": next_cursor, "hasMore": has_more},
        )


class MessageReactionsView(ApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @schema.list_reactions
    def get(self, request: Request, message_id: str) -> Response:
        message = get_message_for(self.workspace, message_id)
        # Prefetched by the selector: no further queries.
        return envelope.collection(request, [reaction_data(r) for r in message.reactions.all()])

    @schema.react
    def post(self, request: Request, message_id: str) -> Response:
        data = _validated(ReactionRequestSerializer, request.data)
        message = get_message_for(self.workspace, message_id)
        # With an API key there is no user: the workspace itself reacts.
        reaction = react_to_message(
            message=message,
            reaction=data["type"],
            operation=data["operation"],
            actor_user=self.principal.user,
        )
        if reaction is None:
            return envelope.single(request, None, status=200)
        reaction = Reaction.objects.select_related("actor_user", "actor_contact").get(
            pk=reaction.pk
        )
        status = 201 if data["operation"] == "add" else 200
        return envelope.single(request, reaction_data(reaction), status=status)


class MediaUploadView(ApiView):
    required_scopes = {"POST": "media:write"}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @schema.upload_media
    def post(self, request: Request) -> Response:
        data = _validated(MediaUploadRequestSerializer, request.data)
        upload_file = data["file"]
        upload = create_media_upload(
            workspace=self.workspace,
            file=upload_file,
            filename=upload_file.name or "",
            size=upload_file.size,
            media_type=data["type"],
            declared_mime=getattr(upload_file, "content_type", "") or "",
        )
        return envelope.single(
            request,
            {
                "id": upload.public_id,
                "type": upload.type,
                "url": media_upload_url(upload),
                "filename": upload.filename,
                "mimeType": upload.mime_type,
                "size": upload.size,
                "expiresAt": iso(upload.expires_at),
            },
            status=201,
        )
