"""The demo loader: what `make run` puts in the demo workspace, and re-running it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services import update_channel
from inbox.demo import (
    DEMO_CONVERSATIONS,
    DEMO_LOGINS,
    DEMO_WORKSPACE_NAME,
    DEMO_WORKSPACE_SLUG,
    load_demo,
)
from inbox.errors import PermissionDenied
from inbox.models import ApiKey, Membership, User, Workspace
from inbox.services import create_agent
from messaging.addresses import normalize_email, normalize_phone
from messaging.models import Contact, Conversation, Message, Reaction
from messaging.services import close_conversation

ADMIN_EMAIL, ADMIN_PASSWORD, _ = DEMO_LOGINS[0]
AGENT_EMAIL, AGENT_PASSWORD, _ = DEMO_LOGINS[1]


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The default PBKDF2 costs ~0.5 s per hash; these tests hash a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def model_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.fixture
def demo(db) -> Workspace:
    run_load_demo()
    return Workspace.objects.get(slug=DEMO_WORKSPACE_SLUG)


def test_the_demo_workspace_and_its_logins(db):
    out = run_load_demo()
    workspace = Workspace.objects.get(slug=DEMO_WORKSPACE_SLUG)
    assert workspace.name == DEMO_WORKSPACE_NAME
    assert "created" in out and "create_api_key demo" in out

    admin = authenticate(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    agent = authenticate(email=AGENT_EMAIL, password=AGENT_PASSWORD)
    assert admin is not None and agent is not None
    assert admin.is_superuser and admin.is_staff
    assert not agent.is_superuser and not agent.is_staff
    assert Membership.objects.get(workspace=workspace, user=admin).role == "admin"
    assert Membership.objects.get(workspace=workspace, user=agent).role == "agent"
    # A key could never be shown again, so the demo makes none.
    assert not ApiKey.objects.exists()


def test_one_sandbox_channel_of_each_kind(demo):
    channels = {c.type: c for c in Channel.objects.filter(workspace=demo)}
    assert set(channels) == {"whatsapp", "sms", "telegram", "email", "webchat", "api"}
    for channel in channels.values():
        assert channel.is_sandbox and channel.is_active
    assert channels["whatsapp"].config["phoneNumber"] == "+15550100001"
    assert channels["telegram"].config["botUsername"]
    assert channels["email"].config["fromEmail"]
    webchat = channels["webchat"].config
    assert webchat["allowedOrigins"] == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert {"color", "header", "welcomeMessage"} <= set(webchat["theme"])


def test_the_conversations_cover_the_inbox_states(demo):
    conversations = Conversation.objects.filter(workspace=demo)
    assert 8 <= conversations.count() == len(DEMO_CONVERSATIONS) <= 12
    statuses = set(conversations.values_list("status", flat=True))
    assert {"open", "snoozed", "closed"} <= statuses
    snoozed = conversations.get(status="snoozed")
    assert snoozed.snoozed_until > timezone.now()
    assert all(c.resolution for c in conversations.filter(status="closed"))
    agent = User.objects.get(email=AGENT_EMAIL)
    assert conversations.filter(assignee=agent).exists()
    assert conversations.filter(assignee__isnull=True, status="open").exists()
    assert conversations.exclude(priority="normal").exists()
    assert conversations.exclude(tags=[]).exists()
    assert conversations.filter(unread_count__gt=0).exists()
    assert conversations.filter(unread_count=0, status="open").exists()
    # Every channel has something to show.
    assert set(conversations.values_list("channel__type", flat=True)) == {
        "whatsapp",
        "sms",
        "telegram",
        "email",
        "webchat",
        "api",
    }


def test_the_messages_went_through_the_real_paths(demo):
    messages = Message.objects.filter(workspace=demo)
    inbound = messages.filter(direction="inbound")
    outbound = messages.filter(direction="outbound", is_private=False)
    assert inbound.exists() and outbound.exists()
    assert all(
        pid.startswith("demo-") for pid in inbound.values_list("provider_message_id", flat=True)
    )
    # Delivered by the sandbox provider without a worker, then receipts applied.
    assert not outbound.filter(status="pending").exists()
    assert set(outbound.values_list("status", flat=True)) == {"sent", "delivered", "read"}
    assert all(m.provider_message_id.startswith("sbx_") for m in outbound)
    assert outbound.filter(channel__type="whatsapp").exists()  # after an inbound, in the window
    assert messages.filter(is_private=True).exists()
    assert Reaction.objects.filter(workspace=demo, actor_type="contact").exists()
    assert Reaction.objects.filter(workspace=demo, actor_type="agent").exists()
    for conversation in Conversation.objects.filter(workspace=demo):
        visible = conversation.messages.filter(deleted_at__isnull=True)
        assert conversation.message_count == visible.count()
        assert conversation.last_message_id == visible.order_by("-created_at", "-id").first().pk


def test_contacts_have_real_looking_addresses(demo):
    contacts = Contact.objects.filter(workspace=demo)
    assert contacts.count() == len(DEMO_CONVERSATIONS)
    assert all(c.name for c in contacts)
    for contact in contacts:
        if contact.phone:
            assert normalize_phone(contact.phone) == contact.phone
        if contact.email:
            assert normalize_email(contact.email) == contact.email
    assert contacts.exclude(phone="").exists() and contacts.exclude(email="").exists()


def test_running_twice_duplicates_nothing(demo):
    before = model_counts()
    out = run_load_demo()
    assert model_counts() == before
    assert "already present" in out and "already seeded" in out


def test_the_queued_delivery_tasks_find_nothing_left_to_do(db, django_capture_on_commit_callbacks):
    # Outside the test transaction `send_message` queues a delivery task on
    # commit; the loader has delivered already, so the task must be a no-op.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run_load_demo()
    assert callbacks
    outbound = Message.objects.filter(direction="outbound", is_private=False)
    assert all(m.delivery_attempts == 1 for m in outbound)
    assert not outbound.filter(status__in=["pending", "failed"]).exists()


def test_rerunning_keeps_changes_made_by_hand(demo):
    admin = User.objects.get(email=ADMIN_EMAIL)
    admin.set_password("changed-by-hand-42")
    admin.save()
    whatsapp = Channel.objects.get(workspace=demo, type="whatsapp")
    update_channel(channel=whatsapp, name="WhatsApp (renamed)")
    open_one = Conversation.objects.filter(workspace=demo, status="open").first()
    close_conversation(conversation=open_one, reason="done by hand")
    before = model_counts()

    run_load_demo()

    assert model_counts() == before
    assert authenticate(email=ADMIN_EMAIL, password="changed-by-hand-42") == admin
    assert authenticate(email=ADMIN_EMAIL, password=ADMIN_PASSWORD) is None
    assert Channel.objects.get(pk=whatsapp.pk).name == "WhatsApp (renamed)"
    open_one.refresh_from_db()
    assert open_one.status == "closed"


def test_rerunning_restores_a_deleted_channel_and_membership_only(demo):
    Channel.objects.filter(workspace=demo, type="webchat").delete()
    Membership.objects.filter(workspace=demo, user__email=AGENT_EMAIL).delete()
    conversations = Conversation.objects.filter(workspace=demo).count()

    out = run_load_demo()

    assert Channel.objects.filter(workspace=demo, type="webchat").count() == 1
    assert Membership.objects.get(workspace=demo, user__email=AGENT_EMAIL).role == "agent"
    assert authenticate(email=AGENT_EMAIL, password=AGENT_PASSWORD) is not None
    # The conversations were seeded before; they are not seeded again.
    assert Conversation.objects.filter(workspace=demo).count() == conversations
    assert "1 created (webchat)" in out


def test_conversations_deleted_by_hand_are_seeded_again_with_the_same_contacts(demo):
    conversations = Conversation.objects.filter(workspace=demo).count()
    contacts = Contact.objects.filter(workspace=demo).count()
    Conversation.objects.filter(workspace=demo).delete()

    run_load_demo()

    assert Conversation.objects.filter(workspace=demo).count() == conversations
    assert Contact.objects.filter(workspace=demo).count() == contacts


def test_an_existing_user_keeps_their_password(db, other_workspace):
    create_agent(workspace=other_workspace, email=AGENT_EMAIL, password="my-own-password-77")
    run_load_demo()
    user = User.objects.get(email=AGENT_EMAIL)
    assert user.check_password("my-own-password-77")
    assert Membership.objects.filter(user=user).count() == 2


def test_load_demo_refuses_in_production(db, settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="development only") as excinfo:
        run_load_demo()
    assert excinfo.value.returncode == 1
    with pytest.raises(PermissionDenied):
        load_demo()
    assert not Workspace.objects.exists()
    assert not User.objects.exists()


def test_load_demo_function_is_quiet_without_stdout(db):
    workspace = load_demo()
    assert workspace.slug == DEMO_WORKSPACE_SLUG
    assert load_demo().pk == workspace.pk


def test_the_snoozed_demo_conversation_wakes_tomorrow(demo):
    snoozed = Conversation.objects.get(workspace=demo, status="snoozed")
    tomorrow = timezone.localtime() + timedelta(days=1)
    assert timezone.localtime(snoozed.snoozed_until).date() == tomorrow.date()
