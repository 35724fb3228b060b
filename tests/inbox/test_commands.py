"""The operator commands: create_workspace, create_agent, create_api_key."""

from __future__ import annotations

import hashlib
import io
import re
import sys
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from inbox.models import ApiKey, Membership, User, Workspace
from inbox.services import authenticate_api_key, create_agent

GOOD_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The default PBKDF2 costs ~0.5 s per hash; these tests hash a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args, **options) -> tuple[str, str]:
    """Run a command; return what it wrote to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


class FakeTerminal(io.StringIO):
    """A stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def tty(monkeypatch):
    monkeypatch.setattr(sys, "stdin", FakeTerminal())


@pytest.fixture
def no_tty(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO())


@pytest.fixture
def answers(monkeypatch):
    """Feed `getpass` these answers in order; records the prompts."""
    prompts: list[str] = []

    def install(*values: str) -> list[str]:
        queue = list(values)

        def fake_getpass(prompt: str = "Password: ") -> str:
            prompts.append(prompt)
            if not queue:
                raise AssertionError("getpass called more often than expected")
            return queue.pop(0)

        monkeypatch.setattr("getpass.getpass", fake_getpass)
        return prompts

    return install


@pytest.fixture
def no_prompt(monkeypatch):
    def fail(prompt: str = "") -> str:
        raise AssertionError("must not prompt")

    monkeypatch.setattr("getpass.getpass", fail)


# --- create_workspace -----------------------------------------------------------


def test_create_workspace_prints_slug_and_public_id(db):
    out, _ = run("create_workspace", "acme-eu", "--name", "Acme Europe")
    workspace = Workspace.objects.get(slug="acme-eu")
    assert workspace.name == "Acme Europe"
    assert "acme-eu" in out
    assert workspace.public_id in out


def test_create_workspace_refuses_a_duplicate_slug(workspace):
    with pytest.raises(CommandError, match="already exists") as excinfo:
        run("create_workspace", workspace.slug, "--name", "Again")
    assert excinfo.value.returncode == 1
    assert Workspace.objects.filter(slug=workspace.slug).count() == 1


@pytest.mark.parametrize("slug", ["A B", "x", "-bad-"])
def test_create_workspace_refuses_a_bad_slug(db, slug):
    with pytest.raises(CommandError, match="slug"):
        run("create_workspace", slug, "--name", "Bad")
    assert not Workspace.objects.exists()


def test_create_workspace_requires_a_name(db):
    with pytest.raises(CommandError, match="--name"):
        run("create_workspace", "acme")
    with pytest.raises(CommandError, match="name"):
        run("create_workspace", "acme", "--name", "   ")
    assert not Workspace.objects.exists()


# --- create_agent ---------------------------------------------------------------


def test_create_agent_with_a_password(workspace, no_prompt):
    out, _ = run(
        "create_agent",
        workspace.slug,
        "Dana@Acme.test",
        "--role",
        "admin",
        "--name",
        "Dana Scully",
        "--password",
        GOOD_PASSWORD,
    )
    user = User.objects.get(email="dana@acme.test")
    assert user.display_name == "Dana Scully"
    assert Membership.objects.get(workspace=workspace, user=user).role == "admin"
    assert authenticate(email="dana@acme.test", password=GOOD_PASSWORD) == user
    assert not user.is_staff and not user.is_superuser
    assert user.public_id in out
    assert GOOD_PASSWORD not in out


def test_create_agent_defaults_to_the_agent_role(workspace, no_tty):
    run("create_agent", workspace.slug, "sam@acme.test")
    assert Membership.objects.get(user__email="sam@acme.test").role == Membership.Role.AGENT


def test_create_agent_operator_is_staff_and_superuser(workspace):
    run(
        "create_agent",
        workspace.slug,
        "ops@acme.test",
        "--role",
        "admin",
        "--password",
        GOOD_PASSWORD,
        "--operator",
    )
    user = User.objects.get(email="ops@acme.test")
    assert user.is_staff and user.is_superuser


def test_create_agent_prompts_twice_on_a_terminal(workspace, tty, answers):
    prompts = answers(GOOD_PASSWORD, GOOD_PASSWORD)
    out, _ = run("create_agent", workspace.slug, "kim@acme.test")
    assert len(prompts) == 2
    user = User.objects.get(email="kim@acme.test")
    assert user.check_password(GOOD_PASSWORD)
    assert GOOD_PASSWORD not in out


def test_the_prompt_asks_again_after_a_mismatch_or_a_weak_password(workspace, tty, answers):
    prompts = answers(
        "one-long-password-1", "another-password-2", "123", "123", *[GOOD_PASSWORD] * 2
    )
    _, err = run("create_agent", workspace.slug, "kim@acme.test")
    assert len(prompts) == 6
    assert "didn't match" in err
    assert "too short" in err or "too common" in err
    assert User.objects.get(email="kim@acme.test").check_password(GOOD_PASSWORD)


def test_the_prompt_gives_up_after_three_bad_attempts(workspace, tty, answers):
    answers(*["password"] * 6)
    with pytest.raises(CommandError, match="attempts"):
        run("create_agent", workspace.slug, "kim@acme.test")
    assert not User.objects.filter(email="kim@acme.test").exists()


def test_without_a_terminal_a_password_is_generated_and_printed_once(workspace, no_tty, no_prompt):
    out, _ = run("create_agent", workspace.slug, "bot@acme.test")
    match = re.search(r"password: (\S+)", out)
    assert match, out
    password = match.group(1)
    assert len(password) >= 16
    assert out.count(password) == 1
    assert "not be shown again" in out
    user = User.objects.get(email="bot@acme.test")
    assert user.check_password(password)
    assert authenticate(email="bot@acme.test", password=password) == user


def test_generate_password_wins_over_the_prompt(workspace, tty, no_prompt):
    out, _ = run("create_agent", workspace.slug, "gen@acme.test", "--generate-password")
    password = re.search(r"password: (\S+)", out).group(1)
    assert User.objects.get(email="gen@acme.test").check_password(password)


def test_password_and_generate_password_exclude_each_other(workspace):
    with pytest.raises(CommandError):
        run(
            "create_agent",
            workspace.slug,
            "x@acme.test",
            "--password",
            GOOD_PASSWORD,
            "--generate-password",
        )
    with pytest.raises(CommandError, match="either"):
        run(
            "create_agent",
            workspace.slug,
            "x@acme.test",
            password=GOOD_PASSWORD,
            generate_password=True,
        )
    assert not User.objects.filter(email="x@acme.test").exists()


def test_create_agent_refuses_a_weak_password(workspace):
    with pytest.raises(CommandError, match="password"):
        run("create_agent", workspace.slug, "weak@acme.test", "--password", "123")
    assert not User.objects.filter(email="weak@acme.test").exists()


def test_create_agent_refuses_an_unknown_workspace(db, tty, no_prompt):
    with pytest.raises(CommandError, match="No workspace with slug 'nowhere'") as excinfo:
        run("create_agent", "nowhere", "a@b.test", "--password", GOOD_PASSWORD)
    assert excinfo.value.returncode == 1
    assert not User.objects.exists()


def test_create_agent_refuses_a_bad_role(workspace, no_tty):
    # From the command line argparse checks the choice; from call_command()
    # keyword options it does not, and the service refuses instead.
    with pytest.raises(CommandError, match="invalid choice"):
        run("create_agent", workspace.slug, "a@acme.test", "--role", "owner")
    with pytest.raises(CommandError, match="role"):
        run("create_agent", workspace.slug, "a@acme.test", role="owner")
    assert not User.objects.filter(email="a@acme.test").exists()


def test_create_agent_refuses_a_bad_email(workspace, no_tty):
    with pytest.raises(CommandError, match="email"):
        run("create_agent", workspace.slug, "not-an-email")


def test_an_existing_user_joins_and_keeps_their_password(workspace, other_workspace, agent):
    out, err = run(
        "create_agent",
        other_workspace.slug,
        agent.email,
        "--role",
        "admin",
        "--password",
        "a-different-password-9",
    )
    assert "password is unchanged" in err
    assert "a-different-password-9" not in out
    assert Membership.objects.get(workspace=other_workspace, user=agent).role == "admin"
    agent.refresh_from_db()
    assert agent.check_password(GOOD_PASSWORD)


def test_an_existing_user_gets_no_generated_password(other_workspace, agent, no_tty):
    out, _ = run("create_agent", other_workspace.slug, agent.email)
    assert "password:" not in out
    agent.refresh_from_db()
    assert agent.check_password(GOOD_PASSWORD)


def test_operator_promotes_an_existing_user_joining_a_workspace(other_workspace, agent):
    run("create_agent", other_workspace.slug, agent.email, "--operator")
    agent.refresh_from_db()
    assert agent.is_staff and agent.is_superuser


def test_adding_a_member_twice_is_refused(workspace, agent):
    with pytest.raises(CommandError, match="already a member"):
        run("create_agent", workspace.slug, agent.email, "--operator")
    agent.refresh_from_db()
    assert not agent.is_superuser  # the failed command changed nothing


def test_the_service_default_leaves_users_without_admin_access(workspace):
    user, _ = create_agent(workspace=workspace, email="plain@acme.test")
    assert not user.is_staff and not user.is_superuser


# --- create_api_key -------------------------------------------------------------


def _all_stored_values() -> str:
    """Every column of every row in the database, as one string."""
    chunks = []
    for model in apps.get_models():
        chunks.extend(str(row) for row in model._default_manager.values())
    return "\n".join(chunks)


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(workspace):
    out, _ = run(
        "create_api_key",
        workspace.slug,
        "--name",
        "CRM",
        "--scopes",
        "messages:read, messages:write",
    )
    raw = re.search(r"^(ik_\S+)$", out, re.MULTILINE).group(1)
    assert out.count(raw) == 1
    assert "will not be shown again" in out

    key = ApiKey.objects.get()
    assert key.workspace == workspace and key.name == "CRM"
    assert key.scopes == ["messages:read", "messages:write"]
    assert key.expires_at is None
    assert key.public_id in out
    assert key.hashed_secret == hashlib.sha256(raw.encode()).hexdigest()
    stored = _all_stored_values()
    secret = raw.split("_", 2)[2]
    assert raw not in stored and secret not in stored

    found = authenticate_api_key(raw)
    assert found == key
    assert found.has_scope("messages:write") and not found.has_scope("contacts:read")


def test_create_api_key_without_scopes_grants_all(workspace):
    out, _ = run("create_api_key", workspace.slug, "--name", "Everything")
    assert ApiKey.objects.get().scopes == ["*"]
    raw = re.search(r"^(ik_\S+)$", out, re.MULTILINE).group(1)
    assert authenticate_api_key(raw).has_scope("webhooks:write")


def test_create_api_key_can_expire(workspace):
    run("create_api_key", workspace.slug, "--name", "Temp", "--expires-in-days", "7")
    expires_at = ApiKey.objects.get().expires_at
    assert abs(expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


@pytest.mark.parametrize("days", ["0", "-3"])
def test_create_api_key_refuses_a_past_expiry(workspace, days):
    with pytest.raises(CommandError, match="expires-in-days"):
        run("create_api_key", workspace.slug, "--name", "Temp", "--expires-in-days", days)
    assert not ApiKey.objects.exists()


def test_create_api_key_refuses_an_unknown_scope(workspace):
    with pytest.raises(CommandError, match="Unknown scopes: messages:delete") as excinfo:
        run("create_api_key", workspace.slug, "--name", "CRM", "--scopes", "messages:delete")
    assert excinfo.value.returncode == 1
    assert not ApiKey.objects.exists()


def test_create_api_key_refuses_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="No workspace"):
        run("create_api_key", "nowhere", "--name", "CRM")
    assert not ApiKey.objects.exists()


def test_create_api_key_requires_a_name(workspace):
    with pytest.raises(CommandError, match="--name"):
        run("create_api_key", workspace.slug)
    with pytest.raises(CommandError, match="name"):
        run("create_api_key", workspace.slug, "--name", " ")
    assert not ApiKey.objects.exists()
