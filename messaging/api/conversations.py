"""Conversations API views: a typed parse of the request, one service or selector call, render.

Lookups by id go through `messaging.selectors.get_*_for(workspace, id)`, so
another workspace's ids answer 404 exactly like unknown ones. Every write
goes through a service in `messaging.services.conversations`, with the
calling agent as actor (None for API keys). Responses render the row re-read
through `get_conversation_for`, the same shape as the list.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api import envelope
from inbox.api.filtering import filtered
from inbox.api.pagination import MAX_PER_PAGE, _positive_int, paginate
from inbox.api.views import ApiView
from inbox.errors import ValidationFailed
from inbox.models import User
from messaging.api import conversation_schema as schema
from messaging.api.conversation_filters import (
    ASSIGNEE_ME,
    ME_NEEDS_AGENT_TOKEN,
    ConversationFilter,
)
from messaging.api.conversation_serializers import (
    AssignConversationSerializer,
    CloseConversationSerializer,
    CreateConversationSerializer,
    ReopenConversationSerializer,
    TransferConversationSerializer,
    UpdateConversationSerializer,
)
from messaging.api.views import _bool_param, _validated
from messaging.models import Conversation
from messaging.representations import (
    conversation_participants_data,
    conversation_resource,
    message_resource,
)
from messaging.selectors import (
    conversation_participants,
    conversations_for,
    get_agent_for,
    get_channel_for,
    get_contact_for,
    get_conversation_for,
    thread_page,
)
from messaging.services.conversations import (
    apply_conversation_changes,
    assign_conversation,
    close_conversation,
    create_conversation,
    reopen_conversation,
    transfer_conversation,
)

READ = "conversations:read"
WRITE = "conversations:write"
DEFAULT_MESSAGE_LIMIT = 20


class ConversationApiView(ApiView):
    """Shared helpers: resolve an agent named in a body, render a conversation."""

    def agent(self, public_id: str, *, field: str) -> User:
        """`me` (the calling agent, agent tokens only) or a member's `user_...` id."""
        if public_id == ASSIGNEE_ME:
            if self.principal.user is None:
                raise ValidationFailed(ME_NEEDS_AGENT_TOKEN, field=field)
            return self.principal.user
        return get_agent_for(self.workspace, public_id, field=field)

    def conversation_response(
        self, request: Request, conversation: Conversation, *, status: int = 200
    ) -> Response:
        # Re-read through the selector: services return rows without the
        # joins the renderer reads (last message, closer).
        fresh = get_conversation_for(self.workspace, conversation.public_id)
        return envelope.single(request, conversation_resource(fresh), status=status)


class ConversationListView(ConversationApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @schema.list_conversations
    def get(self, request: Request) -> Response:
        filterset = ConversationFilter(
            request.query_params,
            queryset=conversations_for(self.workspace),
            workspace=self.workspace,
            me=self.principal.user,
        )
        queryset = filtered(filterset)
        page = paginate(queryset, request.query_params)
        return envelope.collection(
            request, [conversation_resource(c) for c in page.items], **page.meta()
        )

    @schema.create_conversation
    def post(self, request: Request) -> Response:
        data = _validated(CreateConversationSerializer, request.data)
        channel = get_channel_for(self.workspace, data["channelId"])
        contact = (
            get_contact_for(self.workspace, data["contactId"]) if "contactId" in data else None
        )
        assignee = (
            self.agent(data["assigneeId"], field="assigneeId") if data.get("assigneeId") else None
        )
        person = data.get("contact") or {}
        conversation = create_conversation(
            workspace=self.workspace,
            channel=channel,
            contact=contact,
            contact_phone=person.get("phone", ""),
            contact_email=person.get("email", ""),
            contact_name=person.get("name", ""),
            assignee=assignee,
            metadata=data.get("metadata"),
            tags=data.get("tags"),
            by=self.principal.user,
        )
        return self.conversation_response(request, conversation, status=201)


class ConversationDetailView(ConversationApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE}

    @schema.get_conversation
    def get(self, request: Request, conversation_id: str) -> Response:
        include_messages = _bool_param(request, "includeMessages")
        limit = _positive_int(
            request.query_params, "messageLimit", DEFAULT_MESSAGE_LIMIT, MAX_PER_PAGE
        )
        conversation = get_conversation_for(self.workspace, conversation_id)
        data = conversation_resource(conversation)
        if include_messages:
            # The newest `limit` messages, oldest first: one keyset page of the thread.
            rows, _ = thread_page(conversation, limit=limit, cursor=None, direction="before")
            data["relationships"] = {"messages": [message_resource(m) for m in rows]}
        return envelope.single(request, data)

    @schema.update_conversation
    def patch(self, request: Request, conversation_id: str) -> Response:
        data = _validated(UpdateConversationSerializer, request.data)
        conversation = apply_conversation_changes(
            conversation=get_conversation_for(self.workspace, conversation_id),
            status=data.get("status"),
            priority=data.get("priority"),
            tags=data.get("tags"),
            metadata=data.get("metadata"),
            snoozed_until=data.get("snoozedUntil"),
            by=self.principal.user,
        )
        return self.conversation_response(request, conversation)


class ConversationCloseView(ConversationApiView):
    required_scopes = {"POST": WRITE}

    @schema.close_conversation
    def post(self, request: Request, conversation_id: str) -> Response:
        data = _validated(CloseConversationSerializer, request.data)
        conversation = close_conversation(
            conversation=get_conversation_for(self.workspace, conversation_id),
            by=self.principal.user,
            resolution=data["resolution"],
            reason=data.get("reason", ""),
            notes=data.get("notes", ""),
        )
        return self.conversation_response(request, conversation)


class ConversationReopenView(ConversationApiView):
    required_scopes = {"POST": WRITE}

    @schema.reopen_conversation
    def post(self, request: Request, conversation_id: str) -> Response:
        _validated(ReopenConversationSerializer, request.data)
        conversation = reopen_conversation(
            conversation=get_conversation_for(self.workspace, conversation_id),
            by=self.principal.user,
        )
        return self.conversation_response(request, conversation)


class ConversationAssignView(ConversationApiView):
    required_scopes = {"POST": WRITE}

    @schema.assign_conversation
    def post(self, request: Request, conversation_id: str) -> Response:
        data = _validated(AssignConversationSerializer, request.data)
        conversation = get_conversation_for(self.workspace, conversation_id)
        assignee = (
            self.agent(data["assigneeId"], field="assigneeId")
            if data["assigneeId"] is not None
            else None
        )
        conversation = assign_conversation(
            conversation=conversation,
            assignee=assignee,
            by=self.principal.user,
            note=data.get("note", ""),
        )
        return self.conversation_response(request, conversation)


class ConversationTransferView(ConversationApiView):
    required_scopes = {"POST": WRITE}

    @schema.transfer_conversation
    def post(self, request: Request, conversation_id: str) -> Response:
        data = _validated(TransferConversationSerializer, request.data)
        conversation = get_conversation_for(self.workspace, conversation_id)
        conversation = transfer_conversation(
            conversation=conversation,
            to_assignee=self.agent(data["toAssigneeId"], field="toAssigneeId"),
            by=self.principal.user,
            reason=data.get("reason", ""),
            summary=data.get("summary", ""),
            notify_contact=data["notifyContact"],
        )
        return self.conversation_response(request, conversation)


class ConversationParticipantsView(ConversationApiView):
    required_scopes = {"GET": READ}

    @schema.list_participants
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = get_conversation_for(self.workspace, conversation_id)
        agents = conversation_participants(conversation)
        return envelope.collection(request, conversation_participants_data(conversation, agents))
