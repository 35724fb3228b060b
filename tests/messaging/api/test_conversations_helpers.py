"""Helpers (no tests) of the Conversations API tests: an agent-token client, quick rows."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from inbox.api.principal import Principal
from messaging.models import Conversation
from messaging.services import receive_message
from tests.messaging.api.conftest import Api


def agent_client(workspace, user, role: str = "agent") -> Api:
    """A client acting as `user` through an agent access token.

    The token authenticator belongs to the auth work; these tests pin the
    contract the views rely on (`principal.user`, `principal.role`) by
    authenticating with that principal directly.
    """
    client = Api(None)
    principal = Principal(workspace=workspace, user=user, role=role, scopes=frozenset({"*"}))
    client.client.force_authenticate(user=user, token=principal)
    return client


def inbound(channel, sender: str, text: str = "hello", name: str = "") -> Conversation:
    """An inbound message from `sender`; answers its (found or new) conversation."""
    received = receive_message(
        channel=channel,
        sender=sender,
        content={"type": "text", "text": text},
        sender_name=name,
    )
    return received.message.conversation


def set_times(conversation: Conversation, *, minutes_ago: int, **fields: object) -> None:
    """Pin created_at/updated_at (and any given field) so sorts are deterministic."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    Conversation.objects.filter(pk=conversation.pk).update(created_at=at, updated_at=at, **fields)
