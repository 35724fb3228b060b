"""Admin for users, workspaces, memberships and API keys: writes go through inbox.services."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.models import ApiKey, Membership, User, Workspace
from inbox.services import authenticate_api_key, create_api_key
from tests.test_admin_site import form_data

RAW_KEY_RE = re.compile(r"ik_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_superuser(email="ops@inbox.test", password="ops-password-123")


@pytest.fixture
def ops_client(client, operator):
    client.force_login(operator)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Users -------------------------------------------------------------------------


def test_user_add_form_signs_in_by_email(ops_client):
    response = ops_client.post(
        reverse("admin:inbox_user_add"),
        {
            "email": "New.Agent@Example.TEST",
            "display_name": "New Agent",
            "usable_password": "true",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.agent@example.test")
    assert user.check_password("a-long-enough-passphrase")
    assert not user.is_staff


def test_user_add_form_refuses_an_email_in_another_case(ops_client, agent):
    response = ops_client.post(
        reverse("admin:inbox_user_add"),
        {
            "email": agent.email.upper(),
            "usable_password": "false",
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact=agent.email).count() == 1


def test_user_change_page_lists_memberships_and_saves(ops_client, agent, workspace):
    url = reverse("admin:inbox_user_change", args=[agent.pk])
    page = ops_client.get(url)
    assert page.status_code == 200
    assert workspace.name in page.content.decode()

    response = ops_client.post(url, form_data(page, display_name="Agent Smith"))
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.display_name == "Agent Smith"
    assert Membership.objects.filter(user=agent, workspace=workspace).exists()


# --- Workspaces --------------------------------------------------------------------


def test_workspace_add_calls_create_workspace(ops_client):
    response = ops_client.post(
        reverse("admin:inbox_workspace_add"), {"name": "Initech", "slug": "initech"}
    )
    assert response.status_code == 302
    workspace = Workspace.objects.get(slug="initech")
    assert workspace.public_id.startswith("ws_")


def test_workspace_service_error_is_a_form_error_not_a_500(ops_client):
    # Django's SlugField accepts upper case and underscores; the service does not.
    response = ops_client.post(
        reverse("admin:inbox_workspace_add"), {"name": "Initech", "slug": "Bad_Slug"}
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "lower-case" in " ".join(form.errors["slug"])
    assert not Workspace.objects.filter(name="Initech").exists()


def test_workspace_list_counts_members_and_channels(ops_client, workspace, agent, channel):
    response = ops_client.get(reverse("admin:inbox_workspace_changelist"))
    [row] = response.context["cl"].result_list
    assert (row.num_members, row.num_channels) == (1, 1)


def test_workspace_page_is_view_only_with_members(ops_client, workspace, agent):
    page = ops_client.get(reverse("admin:inbox_workspace_change", args=[workspace.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert agent.email in html
    assert 'name="_save"' not in html
    assert reverse("admin:inbox_membership_add") + f"?workspace={workspace.pk}" in html


# --- Memberships -------------------------------------------------------------------


def test_membership_add_calls_create_agent(ops_client, other_workspace, agent):
    response = ops_client.post(
        reverse("admin:inbox_membership_add"),
        {"workspace": other_workspace.pk, "user": agent.pk, "role": "admin"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(workspace=other_workspace, user=agent)
    assert membership.role == "admin"


def test_membership_duplicate_is_a_visible_error(ops_client, workspace, agent):
    response = ops_client.post(
        reverse("admin:inbox_membership_add"),
        {"workspace": workspace.pk, "user": agent.pk, "role": "agent"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Membership.objects.filter(workspace=workspace, user=agent).count() == 1


# --- API keys ----------------------------------------------------------------------


def test_api_key_add_shows_the_raw_key_once(ops_client, operator, workspace):
    response = ops_client.post(
        reverse("admin:inbox_apikey_add"),
        {
            "workspace": workspace.pk,
            "name": "Zapier",
            "scopes": ["messages:read", "messages:write"],
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    raw_key = RAW_KEY_RE.search(html).group(0)

    key = ApiKey.objects.get(name="Zapier")
    assert authenticate_api_key(raw_key) == key
    assert key.scopes == ["messages:read", "messages:write"]
    assert key.created_by == operator
    assert key.hashed_secret not in html

    # Nothing else ever shows it again, nor the hash.
    for url in (
        reverse("admin:inbox_apikey_changelist"),
        reverse("admin:inbox_apikey_change", args=[key.pk]),
        reverse("admin:index"),
    ):
        page = ops_client.get(url).content.decode()
        assert raw_key not in page
        assert key.hashed_secret not in page
    # The raw key was not parked in the session or a message cookie either.
    assert raw_key not in str(dict(ops_client.session))
    assert all(raw_key not in morsel.value for morsel in ops_client.cookies.values())


def test_api_key_all_scopes_wins(ops_client, workspace):
    ops_client.post(
        reverse("admin:inbox_apikey_add"),
        {"workspace": workspace.pk, "name": "Everything", "scopes": ["*", "messages:read"]},
    )
    assert ApiKey.objects.get(name="Everything").scopes == ["*"]


def test_api_key_expiry_in_the_past_is_a_form_error(ops_client, workspace):
    past = timezone.now() - timedelta(days=1)
    response = ops_client.post(
        reverse("admin:inbox_apikey_add"),
        {
            "workspace": workspace.pk,
            "name": "Too late",
            "scopes": ["*"],
            "expires_at_0": past.strftime("%Y-%m-%d"),
            "expires_at_1": past.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    assert "future" in " ".join(response.context["adminform"].form.errors["expires_at"])
    assert not ApiKey.objects.filter(name="Too late").exists()
    assert not RAW_KEY_RE.search(response.content.decode())


def test_revoke_action_calls_revoke_api_key(ops_client, workspace):
    key, raw_key = create_api_key(workspace=workspace, name="Old integration")
    response = ops_client.post(
        reverse("admin:inbox_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [key.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 1 API key." in _messages(response)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert authenticate_api_key(raw_key) is None


def test_api_key_hash_cannot_be_probed_through_changelist_filters(ops_client, workspace):
    key, _ = create_api_key(workspace=workspace, name="Probe me")
    url = reverse("admin:inbox_apikey_changelist")
    response = ops_client.get(url, {"hashed_secret__startswith": key.hashed_secret[:2]})
    assert response.status_code == 400
