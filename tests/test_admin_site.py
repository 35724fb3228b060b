"""The admin as a whole: every page renders, and every changelist runs a fixed number of queries.

The world each page is rendered against is built through the services (a
received and a failed outbound message, a reaction, an attachment, an API
key, ...), so the pages are exercised with real rows. The query-count tests
build their 1 and 100 rows with `bulk_create`: fixture data only.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel
from inbox.models import ApiKey, IdempotencyRecord, Membership, User, Workspace
from inbox.services import create_api_key, create_workspace
from messaging.models import (
    Attachment,
    Contact,
    ContactIdentifier,
    Conversation,
    MediaUpload,
    Message,
    OutboxEvent,
    Reaction,
)
from messaging.services import react_to_message, send_message, update_message_status
from messaging.services.media import create_media_upload, media_upload_url

# A PNG signature is all the sniffer needs to call it image/png.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

OUR_MODELS = [
    User,
    Workspace,
    Membership,
    ApiKey,
    IdempotencyRecord,
    Channel,
    Contact,
    ContactIdentifier,
    Conversation,
    Message,
    Attachment,
    MediaUpload,
    Reaction,
    OutboxEvent,
]


def form_data(response, **changes: object) -> dict[str, object]:
    """The POST an operator's browser would send for an admin form, with `changes`.

    Built from the rendered form's values and the inline management forms, so
    tests post exactly what the page offered and then change a few fields.
    """
    form = response.context["adminform"].form
    data: dict[str, object] = {}
    for name in form.fields:
        value = form[name].value()
        widget = form.fields[name].widget
        if hasattr(widget, "widgets") and not isinstance(value, list):
            # A split widget (date and time): one key per part.
            for index, part in enumerate(widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else part
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        # The hidden id and parent fields each inline row renders.
        formset = inline.formset
        for row in formset.initial_forms:
            data[row.add_prefix(formset.model._meta.pk.name)] = row.instance.pk
            data[row.add_prefix(formset.fk.name)] = formset.instance.pk
    data.update(changes)
    return data


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_superuser(email="ops@inbox.test", password="ops-password-123")


@pytest.fixture
def ops_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def world(workspace, channel, conversation, agent) -> dict[str, object]:
    """One row of every model, made the way production makes them."""
    inbound = conversation.messages.get()
    failed = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "text", "text": "Looking into it"},
        sender_user=agent,
    )
    update_message_status(
        message=failed, status="failed", error_code="BOOM", error_message="provider down"
    )
    react_to_message(message=inbound, reaction="like", actor_user=agent)
    upload = create_media_upload(
        workspace=workspace,
        file=io.BytesIO(PNG),
        filename="receipt.png",
        size=len(PNG),
        media_type="image",
    )
    with_image = send_message(
        workspace=workspace,
        conversation=conversation,
        content={"type": "image", "url": media_upload_url(upload)},
        sender_user=agent,
    )
    key, _ = create_api_key(workspace=workspace, name="CRM sync")
    record = IdempotencyRecord.objects.create(
        workspace=workspace,
        key="idem-1",
        method="POST",
        path="/api/v1/messages",
        request_hash="0" * 64,
        status_code=201,
        response_body={"data": {"id": "msg_x"}},
    )
    return {
        "message": inbound,
        "failed": failed,
        "attachment": with_image.attachments.get(),
        "upload": upload,
        "api_key": key,
        "record": record,
    }


def test_site_is_branded_for_operators(ops_client):
    response = ops_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Inbox operations" in response.content.decode()


def test_every_domain_model_is_registered():
    missing = [model.__name__ for model in OUR_MODELS if model not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m.__name__)
def test_changelist_add_and_change_pages_render(ops_client, world, operator, model):
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"

    response = ops_client.get(reverse(f"{name}_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1

    model_admin = admin.site._registry[model]
    request = response.wsgi_request
    add = ops_client.get(reverse(f"{name}_add"))
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)

    obj = model._default_manager.order_by("pk").first()
    change = ops_client.get(reverse(f"{name}_change", args=[obj.pk]))
    assert change.status_code == 200

    # Searching runs the configured lookups across their joins.
    assert ops_client.get(reverse(f"{name}_changelist"), {"q": "a"}).status_code == 200


def test_domain_rows_cannot_be_deleted_from_the_admin(ops_client, world, conversation):
    # No service deletes them; a raw delete would skip events and counters.
    url = reverse("admin:messaging_conversation_delete", args=[conversation.pk])
    assert ops_client.get(url).status_code == 403
    assert Conversation.objects.filter(pk=conversation.pk).exists()


# --- Constant queries per changelist ------------------------------------------------


def _bulk_workspace() -> tuple[Workspace, Channel]:
    workspace = create_workspace(slug="bulk", name="Bulk Co")
    channel = Channel.objects.create(
        workspace=workspace,
        type="whatsapp",
        name="Bulk line",
        status=Channel.Status.ACTIVE,
        config={"sandbox": True, "accessToken": "EAAG-bulk-secret"},
    )
    return workspace, channel


def _contacts(workspace: Workspace, n: int, start: int) -> list[Contact]:
    return Contact.objects.bulk_create(
        Contact(workspace=workspace, name=f"Contact {i}", phone=f"+1555{i:07d}")
        for i in range(start, start + n)
    )


def _conversations(workspace, channel, n, start) -> list[Conversation]:
    contacts = _contacts(workspace, n, start)
    conversations = Conversation.objects.bulk_create(
        Conversation(workspace=workspace, channel=channel, contact=c) for c in contacts
    )
    messages = Message.objects.bulk_create(
        Message(
            workspace=workspace,
            conversation=conv,
            channel=channel,
            direction="inbound",
            sender_type="contact",
            content_type="text",
            content={"type": "text", "text": "hello"},
            text="hello",
            status="delivered",
        )
        for conv in conversations
    )
    for conv, message in zip(conversations, messages, strict=True):
        conv.last_message = message
        conv.message_count = 1
        conv.last_message_at = message.created_at
    Conversation.objects.bulk_update(
        conversations, ["last_message", "message_count", "last_message_at"]
    )
    return conversations


def _messages(workspace, channel, n, start, sender=None) -> list[Message]:
    contact = _contacts(workspace, 1, 9_000_000 + start)[0]
    conv = Conversation.objects.create(workspace=workspace, channel=channel, contact=contact)
    return Message.objects.bulk_create(
        Message(
            workspace=workspace,
            conversation=conv,
            channel=channel,
            direction="outbound",
            sender_type="agent",
            sender_user=sender,
            content_type="text",
            content={"type": "text", "text": f"message {i}"},
            text=f"message {i}",
            status="sent",
        )
        for i in range(start, start + n)
    )


def make_users(ctx, n, start):
    users = User.objects.bulk_create(
        User(email=f"user{i}@bulk.test") for i in range(start, start + n)
    )
    Membership.objects.bulk_create(Membership(workspace=ctx["workspace"], user=u) for u in users)


def make_workspaces(ctx, n, start):
    workspaces = Workspace.objects.bulk_create(
        Workspace(slug=f"ws-{i}", name=f"Workspace {i}") for i in range(start, start + n)
    )
    Membership.objects.bulk_create(
        Membership(workspace=w, user=ctx["operator"]) for w in workspaces
    )


def make_memberships(ctx, n, start):
    users = User.objects.bulk_create(
        User(email=f"member{i}@bulk.test") for i in range(start, start + n)
    )
    Membership.objects.bulk_create(Membership(workspace=ctx["workspace"], user=u) for u in users)


def make_api_keys(ctx, n, start):
    ApiKey.objects.bulk_create(
        ApiKey(
            workspace=ctx["workspace"],
            name=f"key {i}",
            prefix=f"{i:08x}",
            hashed_secret="0" * 64,
            scopes=["*"],
            created_by=ctx["operator"],
        )
        for i in range(start, start + n)
    )


def make_idempotency_records(ctx, n, start):
    IdempotencyRecord.objects.bulk_create(
        IdempotencyRecord(
            workspace=ctx["workspace"],
            key=f"k{i}",
            method="POST",
            path="/api/v1/messages",
            request_hash="0" * 64,
        )
        for i in range(start, start + n)
    )


def make_channels(ctx, n, start):
    Channel.objects.bulk_create(
        Channel(
            workspace=ctx["workspace"],
            type="telegram",
            name=f"Bot {i}",
            config={"botToken": f"123:secret-{i}"},
            inbound_token=f"token-{i}",
        )
        for i in range(start, start + n)
    )


def make_contacts(ctx, n, start):
    contacts = _contacts(ctx["workspace"], n, start)
    ContactIdentifier.objects.bulk_create(
        ContactIdentifier(workspace=ctx["workspace"], contact=c, channel_type="sms", value=c.phone)
        for c in contacts
    )


def make_identifiers(ctx, n, start):
    contacts = _contacts(ctx["workspace"], n, start)
    ContactIdentifier.objects.bulk_create(
        ContactIdentifier(
            workspace=ctx["workspace"], contact=c, channel_type="whatsapp", value=c.phone
        )
        for c in contacts
    )


def make_conversations(ctx, n, start):
    conversations = _conversations(ctx["workspace"], ctx["channel"], n, start)
    Conversation.objects.filter(pk__in=[c.pk for c in conversations]).update(
        assignee=ctx["operator"]
    )


def make_messages(ctx, n, start):
    _messages(ctx["workspace"], ctx["channel"], n, start, sender=ctx["operator"])


def make_attachments(ctx, n, start):
    messages = _messages(ctx["workspace"], ctx["channel"], n, start)
    Attachment.objects.bulk_create(
        Attachment(
            workspace=ctx["workspace"],
            message=m,
            external_url=f"https://files.example/{m.pk}.pdf",
            filename=f"doc-{m.pk}.pdf",
            mime_type="application/pdf",
            size=1234,
        )
        for m in messages
    )


def make_uploads(ctx, n, start):
    MediaUpload.objects.bulk_create(
        MediaUpload(
            workspace=ctx["workspace"],
            type="image",
            file=f"uploads/{i}.png",
            filename=f"{i}.png",
            mime_type="image/png",
            size=100,
            expires_at=timezone.now() + timedelta(days=1),
        )
        for i in range(start, start + n)
    )


def make_reactions(ctx, n, start):
    messages = _messages(ctx["workspace"], ctx["channel"], n, start)
    Reaction.objects.bulk_create(
        Reaction(
            workspace=ctx["workspace"],
            message=m,
            emoji="👍",
            kind="like",
            actor_type="agent",
            actor_user=ctx["operator"],
        )
        for m in messages
    )


def make_events(ctx, n, start):
    OutboxEvent.objects.bulk_create(
        OutboxEvent(workspace=ctx["workspace"], event="test.ping", data={"n": i})
        for i in range(start, start + n)
    )


# Queries for one changelist page, the same at 1 row and at 100. Every page
# starts with 2 (the session, the signed-in user); "counts" is the paginator's
# COUNT(*) plus the unfiltered total, which the big tables skip
# (`show_full_result_count = False`); "dates" is the date hierarchy's MIN/MAX
# and its DISTINCT days; "<x> choices" is the list filter's options.
CHANGELISTS: dict[type, tuple[Callable, int]] = {
    # 2 + workspace choices, counts (2), rows, memberships+workspaces prefetch
    User: (make_users, 7),
    # 2 + counts (2), rows with member/channel counts as subqueries, dates (2)
    Workspace: (make_workspaces, 7),
    # 2 + workspace choices, counts (2), rows joined to user and workspace
    Membership: (make_memberships, 6),
    # 2 + workspace choices, counts (2), rows joined to workspace and creator, dates (2)
    ApiKey: (make_api_keys, 8),
    # 2 + workspace choices, count, rows joined to workspace
    IdempotencyRecord: (make_idempotency_records, 5),
    # 2 + workspace choices, counts (2), rows joined to workspace
    Channel: (make_channels, 6),
    # 2 + workspace choices, counts (2), rows joined to workspace, identifiers
    # prefetch, dates (2)
    Contact: (make_contacts, 9),
    # 2 + workspace choices, counts (2), rows joined to workspace and contact
    ContactIdentifier: (make_identifiers, 6),
    # 2 + workspace, channel and assignee choices, counts (2), rows joined to
    # workspace, channel, contact, assignee and last message, dates (2)
    Conversation: (make_conversations, 10),
    # 2 + workspace and channel choices, count, rows joined to conversation,
    # channel and sender
    Message: (make_messages, 6),
    # 2 + workspace choices, count, rows joined to workspace and message
    Attachment: (make_attachments, 5),
    # 2 + workspace choices, counts (2), rows joined to workspace
    MediaUpload: (make_uploads, 6),
    # 2 + workspace choices, count, rows joined to workspace, message and actors
    Reaction: (make_reactions, 5),
    # 2 + workspace choices, count, rows joined to workspace
    OutboxEvent: (make_events, 5),
}


def _changelist_queries(client, model) -> tuple[int, int, list[str]]:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    return len(sql), response.context["cl"].result_count, sql


@pytest.mark.parametrize("model", list(CHANGELISTS), ids=lambda m: m.__name__)
def test_changelist_runs_constant_queries(ops_client, operator, model):
    workspace, channel = _bulk_workspace()
    ctx = {"workspace": workspace, "channel": channel, "operator": operator}
    make, expected = CHANGELISTS[model]

    make(ctx, 1, 0)
    small, small_rows, small_sql = _changelist_queries(ops_client, model)
    make(ctx, 99, 1)
    large, large_rows, large_sql = _changelist_queries(ops_client, model)

    assert large_rows >= 100 > small_rows
    assert small == large, "\n".join(["1 row:", *small_sql, "100 rows:", *large_sql])
    assert large == expected, "\n".join(large_sql)
