"""Admin for contacts, conversations and messages: every write goes through messaging.services.

Each write is checked by its result and by the OutboxEvent it left, which only
the services record.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inbox.models import User
from messaging.admin import RECENT_MESSAGES
from messaging.models import Attachment, Contact, Conversation, Message, OutboxEvent, Reaction
from messaging.services import (
    close_conversation,
    react_to_message,
    receive_message,
    send_message,
    update_message_status,
)
from tests.test_admin_site import form_data


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_superuser(email="ops@inbox.test", password="ops-password-123")


@pytest.fixture
def ops_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def failed_message(workspace, conversation, agent) -> Message:
    message = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "Your refund is on its way"},
        sender_user=agent,
    )
    return update_message_status(
        message=message, status="failed", error_code="TIMEOUT", error_message="provider timeout"
    )


def _events(name: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event=name))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _action(client, model: str, action: str, *objs, follow: bool = True):
    return client.post(
        reverse(f"admin:messaging_{model}_changelist"),
        {"action": action, "_selected_action": [o.pk for o in objs]},
        follow=follow,
    )


# --- Contacts ----------------------------------------------------------------------


def test_contact_add_calls_create_contact(ops_client, workspace):
    response = ops_client.post(
        reverse("admin:messaging_contact_add"),
        {
            "workspace": workspace.pk,
            "name": "Bruno Lima",
            "phone": "+55 11 98888-7777",
            "email": "Bruno@Example.COM",
            "tags": '["vip"]',
            "metadata": '{"plan": "gold"}',
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get(name="Bruno Lima")
    assert contact.phone == "+5511988887777"
    assert contact.email == "bruno@example.com"
    assert contact.tags == ["vip"]
    assert [e.data["id"] for e in _events("contact.created")] == [contact.public_id]


def test_contact_duplicate_phone_is_a_form_error_not_a_500(ops_client, workspace, conversation):
    # The stored phone is +5511999999999; spelled differently, only the
    # service (which normalises) can tell it is the same number.
    response = ops_client.post(
        reverse("admin:messaging_contact_add"),
        {
            "workspace": workspace.pk,
            "name": "Twin",
            "phone": "+55 (11) 99999-9999",
            "tags": "[]",
            "metadata": "{}",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "already exists" in " ".join(errors["phone"])
    assert not Contact.objects.filter(name="Twin").exists()


def test_contact_change_calls_update_contact(ops_client, conversation):
    contact = conversation.contact
    url = reverse("admin:messaging_contact_change", args=[contact.pk])
    page = ops_client.get(url)
    assert page.status_code == 200
    assert "whatsapp:+5511999999999" in page.content.decode()  # identifier inline

    response = ops_client.post(url, form_data(page, name="Ana Souza Lima", tags='["b2b"]'))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "Ana Souza Lima"
    assert contact.tags == ["b2b"]
    [event] = _events("contact.updated")
    assert event.data["attributes"]["name"] == "Ana Souza Lima"


def test_contact_invalid_phone_is_a_form_error(ops_client, conversation):
    contact = conversation.contact
    url = reverse("admin:messaging_contact_change", args=[contact.pk])
    page = ops_client.get(url)
    response = ops_client.post(url, form_data(page, phone="not a phone"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"]
    contact.refresh_from_db()
    assert contact.phone == "+5511999999999"
    assert _events("contact.updated") == []


def test_contact_tags_must_be_a_list_of_strings(ops_client, conversation):
    contact = conversation.contact
    url = reverse("admin:messaging_contact_change", args=[contact.pk])
    page = ops_client.get(url)
    response = ops_client.post(url, form_data(page, tags='{"vip": true}'))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tags"]


# --- Conversations -------------------------------------------------------------------


def test_conversation_change_calls_update_and_assign(ops_client, conversation, agent, operator):
    url = reverse("admin:messaging_conversation_change", args=[conversation.pk])
    page = ops_client.get(url)
    assert page.status_code == 200
    response = ops_client.post(
        url,
        form_data(
            page, priority="urgent", tags='["refund", "vip"]', assignee=agent.pk, metadata="{}"
        ),
    )
    assert response.status_code == 302

    conversation.refresh_from_db()
    assert conversation.priority == "urgent"
    assert conversation.tags == ["refund", "vip"]
    assert conversation.assignee == agent
    assert conversation.assigned_by == operator
    assert len(_events("conversation.assigned")) == 1
    assert len(_events("conversation.updated")) == 1


def test_conversation_assignee_outside_the_workspace_is_a_form_error(
    ops_client, conversation, stranger
):
    url = reverse("admin:messaging_conversation_change", args=[conversation.pk])
    page = ops_client.get(url)
    response = ops_client.post(url, form_data(page, assignee=stranger.pk, priority="high"))
    assert response.status_code == 200
    assert "not an agent" in " ".join(response.context["adminform"].form.errors["assignee"])
    conversation.refresh_from_db()
    # The whole save rolled back: neither the assignment nor the priority.
    assert conversation.assignee is None
    assert conversation.priority == "normal"
    assert _events("conversation.updated") == []


def test_conversation_status_is_not_editable_in_the_form(ops_client, conversation):
    url = reverse("admin:messaging_conversation_change", args=[conversation.pk])
    page = ops_client.get(url)
    ops_client.post(url, form_data(page, status="closed"))
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_close_and_reopen_actions_call_the_services(ops_client, conversation, operator):
    response = _action(ops_client, "conversation", "close_conversations", conversation)
    assert "Closed 1 conversation." in _messages(response)
    conversation.refresh_from_db()
    assert conversation.status == "closed"
    assert conversation.closed_by == operator
    assert len(_events("conversation.closed")) == 1

    response = _action(ops_client, "conversation", "reopen_conversations", conversation)
    assert "Reopened 1 conversation." in _messages(response)
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert conversation.reopened_by == operator
    assert len(_events("conversation.reopened")) == 1


def test_action_refusals_are_messages_not_500s(ops_client, conversation, channel):
    other = receive_message(
        channel=channel, sender="+5511977776666", content={"type": "text", "text": "hi"}
    ).message.conversation
    close_conversation(conversation=conversation)

    response = _action(ops_client, "conversation", "close_conversations", conversation, other)
    assert response.status_code == 200
    messages = _messages(response)
    assert "Closed 1 conversation." in messages
    assert any("already closed" in m for m in messages)
    other.refresh_from_db()
    assert other.status == "closed"


def test_conversation_page_shows_recent_messages_with_attachments_and_reactions(
    ops_client, conversation, agent
):
    inbound = conversation.messages.get()
    react_to_message(message=inbound, reaction="love", actor_user=agent)
    page = ops_client.get(reverse("admin:messaging_conversation_change", args=[conversation.pk]))
    html = page.content.decode()
    assert "Hi, I need help with my order" in html
    assert "❤️" in html
    assert reverse("admin:messaging_contact_change", args=[conversation.contact_id]) in html
    assert reverse("admin:channels_app_channel_change", args=[conversation.channel_id]) in html


def _grow_thread(conversation: Conversation, n: int) -> None:
    """Fixture rows only: messages, each with an attachment and a reaction."""
    messages = Message.objects.bulk_create(
        Message(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            channel_id=conversation.channel_id,
            direction="inbound",
            sender_type="contact",
            content_type="document",
            content={"type": "document", "url": "https://files.example/a.pdf"},
            text=f"document {i}",
            status="delivered",
        )
        for i in range(n)
    )
    Attachment.objects.bulk_create(
        Attachment(
            workspace_id=conversation.workspace_id,
            message=m,
            external_url="https://files.example/a.pdf",
            filename=f"invoice-{m.pk}.pdf",
            mime_type="application/pdf",
        )
        for m in messages
    )
    Reaction.objects.bulk_create(
        Reaction(
            workspace_id=conversation.workspace_id,
            message=m,
            emoji="👍",
            actor_type="contact",
            actor_contact_id=conversation.contact_id,
        )
        for m in messages
    )


def test_conversation_page_queries_do_not_grow_with_the_thread(ops_client, conversation):
    url = reverse("admin:messaging_conversation_change", args=[conversation.pk])
    with CaptureQueriesContext(connection) as small:
        assert ops_client.get(url).status_code == 200
    _grow_thread(conversation, RECENT_MESSAGES + 10)
    with CaptureQueriesContext(connection) as large:
        page = ops_client.get(url)
    assert len(small.captured_queries) == len(large.captured_queries), "\n".join(
        q["sql"] for q in large.captured_queries
    )
    # Only the newest messages are listed, each with its attachment and reaction.
    formset = page.context["inline_admin_formsets"][0].formset
    assert len(formset.forms) == RECENT_MESSAGES
    html = page.content.decode()
    assert "invoice-" in html
    assert "👍" in html


def test_conversations_cannot_be_added_in_the_admin(ops_client):
    assert ops_client.get(reverse("admin:messaging_conversation_add")).status_code == 403


# --- Messages -------------------------------------------------------------------------


def test_retry_action_calls_retry_message(
    ops_client, failed_message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _action(ops_client, "message", "retry_messages", failed_message)
    assert "Queued again 1 message." in _messages(response)

    failed_message.refresh_from_db()
    # Back in the queue, then delivered by the sandbox provider on commit.
    assert failed_message.status == "sent"
    assert [h["status"] for h in failed_message.status_history] == [
        "pending",
        "failed",
        "pending",
        "sent",
    ]
    assert [e.data["id"] for e in _events("message.sent")] == [failed_message.public_id]


def test_retry_of_a_message_that_did_not_fail_is_an_error_message(ops_client, conversation):
    inbound = conversation.messages.get()
    response = _action(ops_client, "message", "retry_messages", inbound)
    assert response.status_code == 200
    assert any("Only failed outbound messages" in m for m in _messages(response))
    inbound.refresh_from_db()
    assert inbound.status == "delivered"


def test_soft_delete_action_calls_delete_message(ops_client, conversation):
    inbound = conversation.messages.get()
    response = _action(ops_client, "message", "soft_delete_messages", inbound)
    assert "Deleted 1 message." in _messages(response)
    inbound.refresh_from_db()
    assert inbound.deleted_at is not None
    assert len(_events("message.deleted")) == 1
    assert Message.objects.filter(pk=inbound.pk).exists()  # soft: the row stays


def test_message_page_is_read_only_with_history_and_related_rows(ops_client, failed_message, agent):
    react_to_message(message=failed_message, reaction="👍", actor_user=agent)
    url = reverse("admin:messaging_message_change", args=[failed_message.pk])
    page = ops_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in html
    assert "provider timeout" in html
    assert "failed" in html and "pending" in html  # the status history
    assert "👍" in html  # reaction inline
    # No way to write it directly.
    assert ops_client.post(url, {"text": "rewritten"}).status_code == 403
    assert ops_client.get(reverse("admin:messaging_message_add")).status_code == 403
    failed_message.refresh_from_db()
    assert failed_message.text == "Your refund is on its way"


def test_message_search_finds_text(ops_client, conversation):
    response = ops_client.get(reverse("admin:messaging_message_changelist"), {"q": "my order"})
    assert response.context["cl"].result_count == 1
