"""Agent auth services: login and lockout, rotating refresh, logout, access-token lookup."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.utils import timezone

from inbox import auth_services
from inbox.auth_services import (
    AccountLocked,
    InvalidCredentials,
    InvalidToken,
    TokenExpired,
    TokenRevoked,
    authenticate_access_token,
    hash_token,
    login,
    logout,
    refresh,
)
from inbox.errors import ValidationFailed
from inbox.models import AuthToken, LoginThrottle, Membership, TokenFamily, User
from inbox.services import create_agent, create_workspace

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def clock(monkeypatch):
    """Moves `timezone.now()` as seen by the auth services."""

    class Clock:
        now = timezone.now()

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr(auth_services.timezone, "now", lambda: clock.now)
    return clock


# --- Login ----------------------------------------------------------------------------


def test_login_issues_prefixed_tokens_stored_only_as_hashes(agent, workspace):
    pair = login(email="Agent@Acme.test ", password=PASSWORD, user_agent="pytest", ip="10.0.0.7")

    assert pair.access_token.startswith("iat_") and pair.refresh_token.startswith("irt_")
    assert pair.user == agent and pair.workspace == workspace and pair.role == "agent"
    assert pair.expires_in == 900 and pair.refresh_expires_in == 30 * 86400
    family = TokenFamily.objects.get()
    assert (family.user_agent, family.ip) == ("pytest", "10.0.0.7")
    stored = set(AuthToken.objects.values_list("token_hash", flat=True))
    assert stored == {hash_token(pair.access_token), hash_token(pair.refresh_token)}
    agent.refresh_from_db()
    assert agent.last_login is not None


def test_login_with_several_workspaces_needs_one_named(agent, workspace, other_workspace):
    create_agent(workspace=other_workspace, email=agent.email, role=Membership.Role.ADMIN)

    with pytest.raises(ValidationFailed) as excinfo:
        login(email=agent.email, password=PASSWORD)
    assert excinfo.value.details[0]["field"] == "workspace"
    # Nothing about the workspaces (of other tenants) is listed.
    assert "globex" not in excinfo.value.message and "acme" not in excinfo.value.message

    by_slug = login(email=agent.email, password=PASSWORD, workspace_slug="globex")
    assert (by_slug.workspace, by_slug.role) == (other_workspace, "admin")
    by_id = login(email=agent.email, password=PASSWORD, workspace_slug=workspace.public_id)
    assert (by_id.workspace, by_id.role) == (workspace, "agent")


def test_login_to_a_workspace_the_user_is_not_in_is_invalid_credentials(agent, other_workspace):
    with pytest.raises(InvalidCredentials):
        login(email=agent.email, password=PASSWORD, workspace_slug="globex")
    with pytest.raises(InvalidCredentials):
        login(email=agent.email, password=PASSWORD, workspace_slug="no-such-place")
    assert not TokenFamily.objects.exists()


def test_unknown_email_and_wrong_password_fail_alike_and_both_hash(agent, monkeypatch):
    calls = []
    original = MD5PasswordHasher.encode

    def counting_encode(self, password, salt):
        calls.append(1)
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting_encode)
    with pytest.raises(InvalidCredentials) as wrong:
        login(email=agent.email, password="not-the-password")
    wrong_hashes = len(calls)
    with pytest.raises(InvalidCredentials) as unknown:
        login(email="nobody@acme.test", password="not-the-password")

    assert str(wrong.value) == str(unknown.value)
    # Both paths run the hasher once, so they take about the same time.
    assert wrong_hashes == 1 and len(calls) == 2


def test_inactive_user_is_refused(agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    with pytest.raises(InvalidCredentials):
        login(email=agent.email, password=PASSWORD)


def test_user_without_workspace_is_refused(db):
    User.objects.create_user(email="loner@acme.test", password=PASSWORD)
    with pytest.raises(InvalidCredentials):
        login(email="loner@acme.test", password=PASSWORD)


# --- Lockout --------------------------------------------------------------------------


def test_lockout_after_n_failures_refuses_even_the_right_password_until_it_expires(
    agent, settings, clock
):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            login(email=agent.email, password="wrong-password")

    with pytest.raises(AccountLocked) as excinfo:
        login(email=agent.email, password=PASSWORD)
    assert excinfo.value.extra == {"retryAfter": 600}

    clock.advance(seconds=590)
    with pytest.raises(AccountLocked) as excinfo:
        login(email=agent.email, password=PASSWORD)
    assert excinfo.value.extra == {"retryAfter": 10}

    clock.advance(seconds=11)
    assert login(email=agent.email, password=PASSWORD).user == agent
    assert not LoginThrottle.objects.filter(email=agent.email).exists()


def test_a_success_resets_the_failure_count(agent, settings):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 3
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            login(email=agent.email, password="wrong-password")
    login(email=agent.email, password=PASSWORD)
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            login(email=agent.email, password="wrong-password")
    assert login(email=agent.email, password=PASSWORD).user == agent


def test_old_failures_are_not_in_a_row(agent, settings, clock):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 2
    settings.LOGIN_LOCKOUT_SECONDS = 60
    with pytest.raises(InvalidCredentials):
        login(email=agent.email, password="wrong-password")
    clock.advance(seconds=61)
    with pytest.raises(InvalidCredentials):
        login(email=agent.email, password="wrong-password")
    assert login(email=agent.email, password=PASSWORD).user == agent


def test_unknown_emails_lock_like_known_ones(db, settings):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 2
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            login(email="nobody@acme.test", password="guess")
    with pytest.raises(AccountLocked):
        login(email="nobody@acme.test", password="guess")


def test_attempts_are_counted_before_the_password_is_checked(agent, settings):
    # Parallel guesses each claim a slot under the row lock first, so no more
    # than N passwords are ever checked, however many requests race.
    settings.LOGIN_LOCKOUT_ATTEMPTS = 2
    now = timezone.now()
    auth_services._claim_attempt(agent.email, now)
    auth_services._claim_attempt(agent.email, now)
    with pytest.raises(AccountLocked):
        auth_services._claim_attempt(agent.email, now)


# --- Refresh ----------------------------------------------------------------------------


def test_refresh_rotates_within_the_family(agent):
    first = login(email=agent.email, password=PASSWORD)
    second = refresh(refresh_token=first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    old = AuthToken.objects.get(token_hash=hash_token(first.refresh_token))
    new = AuthToken.objects.get(token_hash=hash_token(second.refresh_token))
    assert old.used_at is not None and new.used_at is None
    assert old.family_id == new.family_id
    assert authenticate_access_token(second.access_token).user == agent


def test_reusing_a_refresh_token_revokes_the_whole_family(agent):
    first = login(email=agent.email, password=PASSWORD)
    other_device = login(email=agent.email, password=PASSWORD)
    second = refresh(refresh_token=first.refresh_token)

    with pytest.raises(TokenRevoked):
        refresh(refresh_token=first.refresh_token)

    # The pair issued by the first rotation is dead too ...
    assert authenticate_access_token(second.access_token) is None
    with pytest.raises(TokenRevoked):
        refresh(refresh_token=second.refresh_token)
    # ... but another device's sign-in is untouched.
    assert authenticate_access_token(other_device.access_token).user == agent
    family = TokenFamily.objects.get(tokens__token_hash=hash_token(first.refresh_token))
    assert family.revoke_reason == TokenFamily.RevokeReason.REUSE


def test_expired_and_unknown_refresh_tokens(agent, clock):
    pair = login(email=agent.email, password=PASSWORD)
    clock.advance(days=31)
    with pytest.raises(TokenExpired):
        refresh(refresh_token=pair.refresh_token)
    with pytest.raises(InvalidToken):
        refresh(refresh_token="irt_not-a-real-token")
    with pytest.raises(InvalidToken):
        refresh(refresh_token=pair.access_token)


def test_refresh_stops_when_the_agent_loses_access(agent, workspace):
    pair = login(email=agent.email, password=PASSWORD)
    Membership.objects.filter(user=agent, workspace=workspace).delete()
    with pytest.raises(TokenRevoked):
        refresh(refresh_token=pair.refresh_token)
    assert TokenFamily.objects.get().revoke_reason == TokenFamily.RevokeReason.ACCESS_LOST


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_with_one_token_one_wins():
    workspace = create_workspace(slug="race", name="Race")
    create_agent(workspace=workspace, email="racer@race.test", password=PASSWORD)
    pair = login(email="racer@race.test", password=PASSWORD)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            refresh(refresh_token=pair.refresh_token)
            outcomes.append("ok")
        except TokenRevoked:
            outcomes.append("revoked")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok", "revoked"]
    # The loser is treated as reuse: the family, winner's new pair included, is revoked.
    assert TokenFamily.objects.get().revoked_at is not None


# --- Access tokens and logout --------------------------------------------------------


def test_access_token_reads_the_live_role(admin_user, workspace):
    pair = login(email=admin_user.email, password=PASSWORD)
    assert authenticate_access_token(pair.access_token).role == "admin"
    Membership.objects.filter(user=admin_user).update(role=Membership.Role.AGENT)
    assert authenticate_access_token(pair.access_token).role == "agent"
    Membership.objects.filter(user=admin_user).delete()
    assert authenticate_access_token(pair.access_token) is None


def test_access_token_expiry_and_inactive_user(agent, clock):
    pair = login(email=agent.email, password=PASSWORD)
    clock.advance(seconds=901)
    with pytest.raises(TokenExpired):
        authenticate_access_token(pair.access_token)
    clock.advance(seconds=-901)
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert authenticate_access_token(pair.access_token) is None


def test_non_access_tokens_are_not_access_tokens(agent, api_key_raw):
    pair = login(email=agent.email, password=PASSWORD)
    assert authenticate_access_token(pair.refresh_token) is None
    assert authenticate_access_token(api_key_raw) is None
    assert authenticate_access_token("iat_unknown") is None


@pytest.fixture
def api_key_raw(workspace) -> str:
    from inbox.services import create_api_key

    return create_api_key(workspace=workspace, name="k")[1]


def test_logout_one_device_then_all(agent, other_workspace):
    create_agent(workspace=other_workspace, email=agent.email)
    laptop = login(email=agent.email, password=PASSWORD, workspace_slug="acme")
    phone = login(email=agent.email, password=PASSWORD, workspace_slug="acme")
    elsewhere = login(email=agent.email, password=PASSWORD, workspace_slug="globex")

    assert logout(access_token=laptop.access_token) == 1
    assert authenticate_access_token(laptop.access_token) is None
    with pytest.raises(TokenRevoked):
        refresh(refresh_token=laptop.refresh_token)
    assert authenticate_access_token(phone.access_token) is not None

    assert logout(access_token=phone.access_token, all_devices=True) == 2
    assert authenticate_access_token(phone.access_token) is None
    assert authenticate_access_token(elsewhere.access_token) is None


def test_logout_with_an_unknown_token(db):
    with pytest.raises(InvalidToken):
        logout(access_token="iat_nope")


# --- Passwords --------------------------------------------------------------------------


def test_passwords_go_through_djangos_validators(workspace):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agent(workspace=workspace, email="weak@acme.test", password="12345678")
    assert excinfo.value.details[0]["field"] == "password"
    assert not User.objects.filter(email="weak@acme.test").exists()


# --- Admin ------------------------------------------------------------------------------


def test_sign_ins_and_lockouts_are_read_only_in_the_admin(agent, client):
    from django.urls import reverse

    pair = login(email=agent.email, password=PASSWORD)
    with pytest.raises(InvalidCredentials):
        login(email="nobody@acme.test", password="guess")
    operator = User.objects.create_superuser(email="ops@inbox.test", password="ops-password-123")
    client.force_login(operator)

    for name in ("inbox_tokenfamily", "inbox_loginthrottle"):
        changelist = client.get(reverse(f"admin:{name}_changelist"))
        assert changelist.status_code == 200
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
    family = TokenFamily.objects.get()
    page = client.get(reverse("admin:inbox_tokenfamily_change", args=[family.pk]))
    assert page.status_code == 200
    assert hash_token(pair.access_token) not in page.content.decode()
    assert (
        b"nobody@acme.test" in client.get(reverse("admin:inbox_loginthrottle_changelist")).content
    )
