"""Inbox sign-in, sign-out, the workspace chooser and switcher, and `@inbox_view`.

Sign-in shares the API login's password check and lockout
(`auth_services.check_credentials`); these tests drive it through the form.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from inbox.models import LoginThrottle, Membership
from inbox.services import create_agent
from inbox.ui.context import SESSION_WORKSPACE_KEY

PASSWORD = "correct-horse-battery-staple"
LOGIN = "/inbox/login/"


def csrf_token_of(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "the page has no CSRF token field"
    return match.group(1)


@pytest.fixture
def csrf_client() -> Client:
    """A client that enforces CSRF like a browser session does."""
    return Client(enforce_csrf_checks=True)


def sign_in(client: Client, email: str, password: str = PASSWORD, **extra: str):
    page = client.get(LOGIN)
    data = {"email": email, "password": password, "csrfmiddlewaretoken": csrf_token_of(page)}
    data.update(extra)
    return client.post(LOGIN, data)


# --- Sign in ---------------------------------------------------------------------


def test_login_page_renders_a_labelled_form_with_csrf(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="login-email">' in html and 'id="login-email"' in html
    assert '<label for="login-password">' in html and 'id="login-password"' in html
    assert "<main" in html and 'class="skip-link"' in html


def test_login_with_one_workspace_lands_in_the_inbox(csrf_client, agent, workspace):
    response = sign_in(csrf_client, "Agent@Acme.test")
    assert response.status_code == 302 and response.url == "/inbox/"
    assert csrf_client.session[SESSION_WORKSPACE_KEY] == workspace.pk
    page = csrf_client.get("/inbox/")
    assert page.status_code == 200
    assert "Acme Support" in page.content.decode()


def test_login_follows_a_safe_next_and_ignores_an_offsite_one(csrf_client, agent):
    response = sign_in(csrf_client, agent.email, next="/inbox/?status=closed")
    assert response.url == "/inbox/?status=closed"
    other = Client(enforce_csrf_checks=True)
    response = sign_in(other, agent.email, next="https://evil.example/phish")
    assert response.url == "/inbox/"


def test_login_with_a_wrong_password_is_refused_without_saying_why(csrf_client, agent):
    response = sign_in(csrf_client, agent.email, password="wrong")
    assert response.status_code == 401
    unknown = sign_in(Client(enforce_csrf_checks=True), "nobody@acme.test", password="wrong")
    # Same message for a wrong password and an unknown email.
    for page in (response, unknown):
        assert "The email or password is incorrect." in page.content.decode()
    assert "_auth_user_id" not in csrf_client.session
    assert csrf_client.get("/inbox/").status_code == 302


def test_login_with_empty_fields_is_a_form_error(csrf_client, db):
    response = sign_in(csrf_client, "", password="")
    assert response.status_code == 400
    assert "Enter your email and password." in response.content.decode()


def test_login_locks_after_repeated_failures_even_with_the_right_password(
    csrf_client, agent, settings
):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 3
    for _ in range(3):
        assert sign_in(csrf_client, agent.email, password="wrong").status_code == 401
    locked = sign_in(csrf_client, agent.email)
    assert locked.status_code == 403
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in csrf_client.session
    # The lock is the API's too: one throttle row per email.
    assert LoginThrottle.objects.get(email=agent.email).locked_until is not None


def test_a_successful_login_clears_earlier_failures(csrf_client, agent):
    sign_in(csrf_client, agent.email, password="wrong")
    assert LoginThrottle.objects.filter(email=agent.email).exists()
    sign_in(csrf_client, agent.email)
    assert not LoginThrottle.objects.filter(email=agent.email).exists()


def test_an_inactive_user_cannot_sign_in(csrf_client, agent):
    agent.is_active = False
    agent.save()
    assert sign_in(csrf_client, agent.email).status_code == 401


def test_a_user_without_any_workspace_cannot_sign_in(csrf_client, agent):
    Membership.objects.filter(user=agent).delete()
    response = sign_in(csrf_client, agent.email)
    assert response.status_code == 401
    assert "_auth_user_id" not in csrf_client.session


def test_login_rotates_the_session_key(csrf_client, agent):
    csrf_client.get(LOGIN)
    before = csrf_client.session.session_key
    sign_in(csrf_client, agent.email)
    assert csrf_client.session.session_key != before


def test_login_post_without_csrf_token_is_refused(csrf_client, agent):
    response = csrf_client.post(LOGIN, {"email": agent.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in csrf_client.session


def test_signed_in_visit_to_login_goes_to_the_inbox(client, agent):
    client.force_login(agent)
    response = client.get(LOGIN)
    assert response.status_code == 302 and response.url == "/inbox/"


# --- Sign out --------------------------------------------------------------------


def test_logout_is_post_only(client, agent):
    client.force_login(agent)
    assert client.get("/inbox/logout/").status_code == 405
    assert "_auth_user_id" in client.session


def test_logout_needs_the_csrf_token(csrf_client, agent):
    sign_in(csrf_client, agent.email)
    assert csrf_client.post("/inbox/logout/").status_code == 403
    assert csrf_client.get("/inbox/").status_code == 200


def test_logout_ends_the_session(csrf_client, agent):
    sign_in(csrf_client, agent.email)
    page = csrf_client.get("/inbox/")
    response = csrf_client.post(
        "/inbox/logout/", {"csrfmiddlewaretoken": csrf_token_of(page)}, follow=True
    )
    assert response.redirect_chain[-1][0] == LOGIN
    assert "You have signed out." in response.content.decode()
    assert csrf_client.get("/inbox/").status_code == 302


# --- Anonymous access -----------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login_with_next(client, db):
    response = client.get("/inbox/?status=closed")
    assert response.status_code == 302
    assert response.url.startswith("/inbox/login/?next=")
    assert "status%3Dclosed" in response.url


def test_anonymous_htmx_request_gets_a_full_page_redirect(client, db):
    response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/inbox/login/"


def test_anonymous_bulk_post_changes_nothing(client, conversation):
    response = client.post("/inbox/bulk/", {"ids": [conversation.public_id], "action": "close"})
    assert response.status_code == 302 and response.url.startswith("/inbox/login/")
    conversation.refresh_from_db()
    assert conversation.status == "open"


# --- Several workspaces ------------------------------------------------------------


@pytest.fixture
def two_workspace_agent(agent, other_workspace):
    create_agent(workspace=other_workspace, email=agent.email)
    return agent


def test_agent_in_two_workspaces_chooses_after_login(csrf_client, two_workspace_agent):
    response = sign_in(csrf_client, two_workspace_agent.email)
    assert response.status_code == 302 and response.url == "/inbox/workspaces/"
    assert SESSION_WORKSPACE_KEY not in csrf_client.session
    # Without a choice the inbox sends them back to the chooser.
    assert csrf_client.get("/inbox/").url == "/inbox/workspaces/"
    chooser = csrf_client.get("/inbox/workspaces/")
    html = chooser.content.decode()
    assert "Acme Support" in html and "Globex" in html


def test_chooser_keeps_next_through_the_choice(csrf_client, two_workspace_agent, other_workspace):
    response = sign_in(csrf_client, two_workspace_agent.email, next="/inbox/?tab=all")
    assert response.url == "/inbox/workspaces/?next=%2Finbox%2F%3Ftab%3Dall"
    chooser = csrf_client.get(response.url)
    switched = csrf_client.post(
        "/inbox/switch/",
        {
            "workspace": other_workspace.public_id,
            "next": "/inbox/?tab=all",
            "csrfmiddlewaretoken": csrf_token_of(chooser),
        },
    )
    assert switched.url == "/inbox/?tab=all"
    assert csrf_client.session[SESSION_WORKSPACE_KEY] == other_workspace.pk


def test_switcher_lists_own_workspaces_and_switches(
    csrf_client, two_workspace_agent, workspace, other_workspace, channel, make_channel
):
    sign_in(csrf_client, two_workspace_agent.email)
    chooser = csrf_client.get("/inbox/workspaces/")
    token = csrf_token_of(chooser)
    csrf_client.post(
        "/inbox/switch/", {"workspace": workspace.public_id, "csrfmiddlewaretoken": token}
    )
    page = csrf_client.get("/inbox/").content.decode()
    assert 'id="ws-select"' in page
    assert f'value="{other_workspace.public_id}"' in page and "Globex" in page
    assert 'data-workspace-id="' + workspace.public_id + '"' in page
    response = csrf_client.post(
        "/inbox/switch/",
        {"workspace": other_workspace.public_id, "csrfmiddlewaretoken": csrf_token_of(chooser)},
    )
    assert response.status_code == 302 and response.url == "/inbox/"
    page = csrf_client.get("/inbox/").content.decode()
    assert 'data-workspace-id="' + other_workspace.public_id + '"' in page


def test_switch_to_a_foreign_workspace_is_a_404(csrf_client, agent, other_workspace, workspace):
    sign_in(csrf_client, agent.email)
    token = csrf_token_of(csrf_client.get("/inbox/"))
    response = csrf_client.post(
        "/inbox/switch/", {"workspace": other_workspace.public_id, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 404
    unknown = csrf_client.post(
        "/inbox/switch/", {"workspace": "ws_doesnotexist", "csrfmiddlewaretoken": token}
    )
    assert unknown.status_code == 404
    assert csrf_client.session[SESSION_WORKSPACE_KEY] == workspace.pk


def test_switch_needs_post_and_csrf(csrf_client, two_workspace_agent, other_workspace, workspace):
    sign_in(csrf_client, two_workspace_agent.email)
    assert csrf_client.get("/inbox/switch/").status_code == 405
    response = csrf_client.post("/inbox/switch/", {"workspace": other_workspace.public_id})
    assert response.status_code == 403
    assert SESSION_WORKSPACE_KEY not in csrf_client.session


def test_removed_membership_takes_effect_on_the_next_request(
    client, two_workspace_agent, workspace, other_workspace
):
    client.force_login(two_workspace_agent)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = other_workspace.pk
    session.save()
    assert client.get("/inbox/").status_code == 200
    Membership.objects.filter(user=two_workspace_agent, workspace=other_workspace).delete()
    # One workspace left: the inbox falls back to it rather than the lost one.
    page = client.get("/inbox/")
    assert page.status_code == 200
    assert 'data-workspace-id="' + workspace.public_id + '"' in page.content.decode()
    assert client.session[SESSION_WORKSPACE_KEY] == workspace.pk


def test_agent_removed_from_every_workspace_is_forbidden(client, agent):
    client.force_login(agent)
    assert client.get("/inbox/").status_code == 200
    Membership.objects.filter(user=agent).delete()
    response = client.get("/inbox/")
    assert response.status_code == 302 and response.url == "/inbox/workspaces/"
    chooser = client.get("/inbox/workspaces/")
    assert chooser.status_code == 403
    assert "not a member of any workspace" in chooser.content.decode()
    htmx = client.get("/inbox/", headers={"HX-Request": "true"})
    assert htmx.status_code == 403 and htmx["HX-Redirect"] == "/inbox/workspaces/"


def test_session_cookie_settings(settings):
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.CSRF_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60
    assert settings.LOGIN_URL == LOGIN


def test_production_cookies_are_secure_and_host_prefixed(monkeypatch):
    import importlib

    import inbox.settings as inbox_settings

    monkeypatch.setenv("DJANGO_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("ALLOWED_HOSTS", "inbox.example.com")
    try:
        prod = importlib.reload(inbox_settings)
        assert prod.SESSION_COOKIE_SECURE is True and prod.CSRF_COOKIE_SECURE is True
        assert prod.SESSION_COOKIE_NAME == "__Host-sessionid"
        assert prod.CSRF_COOKIE_NAME == "__Host-csrftoken"
        assert prod.SESSION_COOKIE_HTTPONLY is True
    finally:
        monkeypatch.undo()
        importlib.reload(inbox_settings)


def test_start_page_links_to_the_inbox(client, db):
    assert 'href="/inbox/"' in client.get("/").content.decode()
