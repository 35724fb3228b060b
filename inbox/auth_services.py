"""Agent sign-in for the API: login, rotating refresh tokens, logout, access-token lookup.

Tokens are opaque random strings, `iat_...` (access) and `irt_...` (refresh),
stored only as their SHA-256, like API keys. A login starts a `TokenFamily`
(one device); refreshing marks the presented refresh token used and issues a
new pair in the same family. A refresh token presented a second time has
leaked or was raced: the whole family is revoked, so both whoever replayed it
and the rightful client lose access and the agent signs in again. This is also
what happens when one client sends two refreshes with one token at once: the
first wins, the second is reuse (documented; clients must serialize refreshes).

Access tokens live `ACCESS_TOKEN_TTL_SECONDS`; each rotation gives the new
refresh token a fresh `REFRESH_TOKEN_TTL_DAYS` (a sliding session). The role
is read live from `Membership` on every request, so a demotion or removal
applies at once.

Failed logins (API tokens and inbox sessions alike, through `check_credentials`)
are counted per email in `LoginThrottle`: after
`LOGIN_LOCKOUT_ATTEMPTS` failures in a row the email is locked for
`LOGIN_LOCKOUT_SECONDS`, and every attempt, even with the right password, is
refused with ACCOUNT_LOCKED. Unknown emails are counted exactly like known ones.

No password or token is ever logged here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from inbox.errors import DomainError, ValidationFailed
from inbox.models import AuthToken, LoginThrottle, Membership, TokenFamily, User, Workspace

ACCESS_PREFIX = "iat"
REFRESH_PREFIX = "irt"
TOKEN_TYPE = "Bearer"


# --- Errors ----------------------------------------------------------------------


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    status = 401
    # One message for unknown email, wrong password, inactive user and a
    # workspace the user is not in: the answer must not tell them apart.
    default_message = "The email or password is incorrect."


class AccountLocked(DomainError):
    code = "ACCOUNT_LOCKED"
    status = 403

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins; try again in {retry_after} seconds.")
        # Rendered next to code and message by the API's exception handler.
        self.extra: dict[str, Any] = {"retryAfter": retry_after}


class InvalidToken(DomainError):
    code = "INVALID_TOKEN"
    status = 401
    default_message = "The token is unknown."


class TokenRevoked(DomainError):
    code = "TOKEN_REVOKED"
    status = 401
    default_message = "The token was revoked or already used; sign in again."


class TokenExpired(DomainError):
    code = "TOKEN_EXPIRED"
    status = 401
    default_message = "The token has expired."


# --- Results ---------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    """A freshly issued access and refresh token; the raw strings exist only here."""

    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid
    refresh_expires_in: int
    user: User
    workspace: Workspace
    role: str


@dataclass(frozen=True)
class AccessGrant:
    """What a valid access token lets its bearer act as."""

    user: User
    workspace: Workspace
    role: str
    family_id: int
    expires_at: datetime


# --- Helpers ---------------------------------------------------------------------


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _new_raw_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def _ip_or_none(ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def _live_role() -> Subquery:
    """The role of the token family's user in its workspace, or NULL if no longer a member."""
    return Subquery(
        Membership.objects.filter(
            user_id=OuterRef("family__user_id"), workspace_id=OuterRef("family__workspace_id")
        ).values("role")[:1]
    )


def _issue_pair(*, family: TokenFamily, role: str, now: datetime) -> TokenPair:
    access_ttl = timedelta(seconds=settings.ACCESS_TOKEN_TTL_SECONDS)
    refresh_ttl = timedelta(days=settings.REFRESH_TOKEN_TTL_DAYS)
    access, refresh = _new_raw_token(ACCESS_PREFIX), _new_raw_token(REFRESH_PREFIX)
    AuthToken.objects.bulk_create(
        [
            AuthToken(
                family=family,
                kind=AuthToken.Kind.ACCESS,
                token_hash=hash_token(access),
                created_at=now,
                expires_at=now + access_ttl,
            ),
            AuthToken(
                family=family,
                kind=AuthToken.Kind.REFRESH,
                token_hash=hash_token(refresh),
                created_at=now,
                expires_at=now + refresh_ttl,
            ),
        ]
    )
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(access_ttl.total_seconds()),
        refresh_expires_in=int(refresh_ttl.total_seconds()),
        user=family.user,
        workspace=family.workspace,
        role=role,
    )


def _revoke(families: QuerySet[TokenFamily], *, reason: str, now: datetime) -> int:
    return families.filter(revoked_at__isnull=True).update(revoked_at=now, revoke_reason=reason)


# --- Login throttling --------------------------------------------------------------


def _claim_attempt(email: str, now: datetime) -> None:
    """Count this attempt as a failure up front, or refuse it if the email is locked.

    Counting before the password is checked (and forgiving on success) means
    parallel guesses each take a slot under the row lock, so no more than
    LOGIN_LOCKOUT_ATTEMPTS passwords are ever tried per lock period.
    """
    limit = settings.LOGIN_LOCKOUT_ATTEMPTS
    lockout = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    with transaction.atomic():
        throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(email=email)
        expired_lock = throttle.locked_until is not None and throttle.locked_until <= now
        stale = throttle.last_attempt_at is not None and throttle.last_attempt_at <= now - lockout
        if expired_lock or stale:
            # A lock served, or failures long ago, are not "in a row" any more.
            throttle.failures = 0
            throttle.locked_until = None
        if throttle.locked_until is not None or throttle.failures >= limit:
            # Locked, or the last allowed attempts are still being checked.
            until = throttle.locked_until or now + lockout
            raise AccountLocked(retry_after=max(math.ceil((until - now).total_seconds()), 1))
        throttle.failures += 1
        throttle.last_attempt_at = now
        throttle.save(update_fields=["failures", "locked_until", "last_attempt_at"])


def _confirm_failure(email: str, now: datetime) -> None:
    """The claimed attempt failed: lock the email once it reached the limit."""
    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().filter(email=email).first()
        if (
            throttle is not None
            and throttle.failures >= settings.LOGIN_LOCKOUT_ATTEMPTS
            and throttle.locked_until is None
        ):
            throttle.locked_until = now + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
            throttle.save(update_fields=["locked_until"])


# --- Services ----------------------------------------------------------------------


def check_credentials(*, email: str, password: str, request: Any = None) -> User:
    """The active user with this email and password, under the login lockout.

    Shared by the API's token login and the inbox's session sign-in, so both
    count failures against the same `LoginThrottle` row and lock together.
    The returned user comes from `authenticate`, so it carries `.backend` for
    `django.contrib.auth.login`. Raises AccountLocked or InvalidCredentials.
    """
    email = (email or "").strip().lower()
    now = timezone.now()
    _claim_attempt(email, now)
    # ModelBackend hashes the password even for an unknown email, so an
    # unknown email and a wrong password take about the same time; it also
    # refuses inactive users.
    user = authenticate(request, email=email, password=password)
    if user is None:
        _confirm_failure(email, now)
        raise InvalidCredentials()
    LoginThrottle.objects.filter(email=email).delete()
    return user


def login(
    *,
    email: str,
    password: str,
    workspace_slug: str | None = None,
    user_agent: str = "",
    ip: str = "",
) -> TokenPair:
    """Check the password with Django's auth backends and start a token family.

    `workspace_slug` (a slug or a `ws_` id) is required when the user belongs
    to several workspaces. Raises AccountLocked, InvalidCredentials, or
    ValidationFailed(field="workspace").
    """
    user = check_credentials(email=email, password=password)
    now = timezone.now()

    memberships = list(Membership.objects.select_related("workspace").filter(user=user))
    if workspace_slug:
        wanted = workspace_slug.strip()
        memberships = [
            m for m in memberships if wanted in (m.workspace.slug, m.workspace.public_id)
        ]
        if not memberships:
            # Unknown and foreign workspaces alike: nothing about other tenants leaks.
            raise InvalidCredentials()
    elif not memberships:
        raise InvalidCredentials()
    elif len(memberships) > 1:
        raise ValidationFailed(
            "You belong to several workspaces: name one by its slug or id.", field="workspace"
        )
    membership = memberships[0]

    with transaction.atomic():
        family = TokenFamily.objects.create(
            user=user,
            workspace=membership.workspace,
            created_at=now,
            user_agent=(user_agent or "")[:255],
            ip=_ip_or_none(ip),
        )
        User.objects.filter(pk=user.pk).update(last_login=now)
        return _issue_pair(family=family, role=membership.role, now=now)


def refresh(*, refresh_token: str) -> TokenPair:
    """Rotate: mark `refresh_token` used and issue a new pair in its family.

    A used or revoked token raises TokenRevoked and revokes the whole family;
    an expired one raises TokenExpired; an unknown one InvalidToken.
    """
    raw = refresh_token or ""
    if not raw.startswith(f"{REFRESH_PREFIX}_"):
        raise InvalidToken()
    now = timezone.now()
    failure: DomainError | None = None
    with transaction.atomic():
        # The row lock makes two refreshes with one token take turns: the
        # second sees `used_at` set and is handled as reuse.
        token = (
            AuthToken.objects.select_for_update(of=("self",))
            .select_related("family__user", "family__workspace")
            .annotate(role=_live_role())
            .filter(token_hash=hash_token(raw), kind=AuthToken.Kind.REFRESH)
            .first()
        )
        if token is None:
            failure = InvalidToken()
        else:
            family_rows = TokenFamily.objects.filter(pk=token.family_id)
            if token.used_at is not None or token.family.revoked_at is not None:
                _revoke(family_rows, reason=TokenFamily.RevokeReason.REUSE, now=now)
                failure = TokenRevoked()
            elif token.expires_at <= now:
                failure = TokenExpired()
            elif not token.family.user.is_active or token.role is None:
                _revoke(family_rows, reason=TokenFamily.RevokeReason.ACCESS_LOST, now=now)
                failure = TokenRevoked()
            else:
                AuthToken.objects.filter(pk=token.pk).update(used_at=now)
                return _issue_pair(family=token.family, role=token.role, now=now)
    # Raised after the block so the revocation above is committed, not rolled back.
    raise failure


def logout(*, access_token: str, all_devices: bool = False) -> int:
    """Revoke the family of `access_token`, or every family of its user; returns how many."""
    token = (
        AuthToken.objects.select_related("family")
        .filter(token_hash=hash_token(access_token or ""), kind=AuthToken.Kind.ACCESS)
        .first()
    )
    if token is None:
        raise InvalidToken()
    now = timezone.now()
    with transaction.atomic():
        if all_devices:
            families = TokenFamily.objects.filter(user_id=token.family.user_id)
            reason = TokenFamily.RevokeReason.LOGOUT_ALL
        else:
            families = TokenFamily.objects.filter(pk=token.family_id)
            reason = TokenFamily.RevokeReason.LOGOUT
        return _revoke(families, reason=reason, now=now)


def authenticate_access_token(raw_token: str) -> AccessGrant | None:
    """The grant of a live access token; None when unknown, revoked, or access was lost.

    Raises TokenExpired for a token that was valid but has expired, so the
    client knows to refresh rather than sign in again. One query: the token,
    its family, user and workspace, and the live role.
    """
    raw = raw_token or ""
    if not raw.startswith(f"{ACCESS_PREFIX}_"):
        return None
    token = (
        AuthToken.objects.select_related("family__user", "family__workspace")
        .annotate(role=_live_role())
        .filter(token_hash=hash_token(raw), kind=AuthToken.Kind.ACCESS)
        .first()
    )
    if token is None or token.family.revoked_at is not None:
        return None
    if not token.family.user.is_active or token.role is None:
        return None
    if token.expires_at <= timezone.now():
        raise TokenExpired()
    return AccessGrant(
        user=token.family.user,
        workspace=token.family.workspace,
        role=token.role,
        family_id=token.family_id,
        expires_at=token.expires_at,
    )


def workspaces_of(user: User) -> list[Membership]:
    """A read for `GET /auth/me`: the user's memberships with their workspaces."""
    return list(
        Membership.objects.select_related("workspace")
        .filter(user=user)
        .order_by("workspace__name", "workspace_id")
    )
