"""Shared fixtures: two workspaces (ours and a stranger's), agents, channels.

Every isolation test uses `other_workspace` to prove a row of one tenant is
invisible to the other.
"""

from __future__ import annotations

import pytest

from channels_app.models import Channel
from inbox.celery import app as celery_app
from inbox.models import Membership, User, Workspace
from inbox.services import create_agent, create_workspace
from messaging.models import Conversation
from messaging.services import receive_message


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    # Unit tests run tasks in-process; the real-worker test starts its own worker.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs ~0.3 s per agent created; tests that
    # care about hashing itself go through Django's validators, not the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters live in the cache; each test starts from zero.
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def workspace(db) -> Workspace:
    return create_workspace(slug="acme", name="Acme Support")


@pytest.fixture
def other_workspace(db) -> Workspace:
    return create_workspace(slug="globex", name="Globex")


@pytest.fixture
def admin_user(workspace) -> User:
    user, _ = create_agent(
        workspace=workspace,
        email="admin@acme.test",
        role=Membership.Role.ADMIN,
        password="correct-horse-battery-staple",
    )
    return user


@pytest.fixture
def agent(workspace) -> User:
    user, _ = create_agent(
        workspace=workspace, email="agent@acme.test", password="correct-horse-battery-staple"
    )
    return user


@pytest.fixture
def stranger(other_workspace) -> User:
    user, _ = create_agent(
        workspace=other_workspace,
        email="stranger@globex.test",
        password="correct-horse-battery-staple",
    )
    return user


@pytest.fixture
def make_channel(db):
    def make(workspace: Workspace, type: str = "whatsapp", **kwargs) -> Channel:
        config = {"sandbox": True, "phoneNumber": "+15550001111"}
        config.update(kwargs.pop("config", {}))
        return Channel.objects.create(
            workspace=workspace,
            type=type,
            name=kwargs.pop("name", f"{type} line"),
            status=kwargs.pop("status", Channel.Status.ACTIVE),
            config=config,
            **kwargs,
        )

    return make


@pytest.fixture
def channel(workspace, make_channel) -> Channel:
    return make_channel(workspace)


@pytest.fixture
def conversation(channel) -> Conversation:
    """An open WhatsApp conversation whose contact wrote a moment ago."""
    received = receive_message(
        channel=channel,
        sender="+5511999999999",
        content={"type": "text", "text": "Hi, I need help with my order"},
        provider_message_id="wamid.fixture",
        sender_name="Ana Souza",
    )
    return received.message.conversation
