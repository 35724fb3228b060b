"""Workspace, agent and API key services."""

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from inbox.errors import AlreadyExists, ValidationFailed
from inbox.models import ApiKey, Membership
from inbox.services import (
    authenticate_api_key,
    create_agent,
    create_api_key,
    create_workspace,
    revoke_api_key,
)


def test_workspace_slugs_are_validated_and_unique(db):
    create_workspace(slug="acme", name="Acme")
    with pytest.raises(AlreadyExists):
        create_workspace(slug="acme", name="Again")
    for bad in ("A B", "-x-", "x", ""):
        with pytest.raises(ValidationFailed):
            create_workspace(slug=bad, name="Bad")


def test_an_agent_can_belong_to_two_workspaces(workspace, other_workspace):
    user, _ = create_agent(workspace=workspace, email="Sam@Example.com", password="a-Long-pass-42")
    same, membership = create_agent(
        workspace=other_workspace, email="sam@example.com", role="admin"
    )
    assert same.pk == user.pk
    assert membership.role == Membership.Role.ADMIN
    assert authenticate(email="sam@example.com", password="a-Long-pass-42") == user
    with pytest.raises(AlreadyExists):
        create_agent(workspace=workspace, email="sam@example.com")


def test_weak_passwords_are_refused(workspace):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agent(workspace=workspace, email="weak@example.com", password="123")
    assert excinfo.value.details[0]["field"] == "password"


def test_api_keys_store_only_a_hash_and_authenticate(workspace):
    key, raw = create_api_key(workspace=workspace, name="CRM", scopes=["messages:read"])
    assert raw.startswith(f"ik_{key.prefix}_")
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert raw not in str(stored)
    found = authenticate_api_key(raw)
    assert found == key and found.workspace == workspace
    assert found.has_scope("messages:read") and not found.has_scope("messages:write")
    assert found.last_used_at is not None
    assert authenticate_api_key(raw + "x") is None
    assert authenticate_api_key("ik_nope_nope") is None
    assert authenticate_api_key("") is None


def test_revoked_and_expired_keys_stop_working(workspace):
    key, raw = create_api_key(workspace=workspace, name="CRM")
    assert key.scopes == ["*"]
    revoke_api_key(api_key=key)
    assert authenticate_api_key(raw) is None

    soon, raw2 = create_api_key(
        workspace=workspace, name="Temp", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert authenticate_api_key(raw2) == soon
    ApiKey.objects.filter(pk=soon.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_api_key(raw2) is None


def test_api_key_input_is_validated(workspace):
    with pytest.raises(ValidationFailed):
        create_api_key(workspace=workspace, name="x", scopes=["messages:delete"])
    with pytest.raises(ValidationFailed):
        create_api_key(workspace=workspace, name="")
    with pytest.raises(ValidationFailed):
        create_api_key(workspace=workspace, name="x", expires_at=timezone.now() - timedelta(days=1))
