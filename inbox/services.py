"""Services for workspaces, agents and API keys: the only code that writes them."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inbox.errors import AlreadyExists, ValidationFailed
from inbox.models import ApiKey, Membership, User, Workspace

# Scopes an API key can hold; "*" grants all of them.
API_SCOPES = (
    "messages:read",
    "messages:write",
    "conversations:read",
    "conversations:write",
    "contacts:read",
    "contacts:write",
    "channels:read",
    "channels:write",
    "webhooks:read",
    "webhooks:write",
    "media:write",
)
# What an agent's access token may do, by workspace role (`Membership.Role`).
# Agents work conversations; channels and webhooks are the admins' to change.
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "admin": ("*",),
    "agent": (
        "messages:read",
        "messages:write",
        "conversations:read",
        "conversations:write",
        "contacts:read",
        "contacts:write",
        "channels:read",
        "webhooks:read",
        "media:write",
    ),
}
KEY_PREFIX = "ik"
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
# How rarely `last_used_at` is written, so authentication is not a write per request.
LAST_USED_RESOLUTION_SECONDS = 60


def create_workspace(*, slug: str, name: str) -> Workspace:
    slug = (slug or "").strip().lower()
    if not _SLUG_RE.match(slug):
        raise ValidationFailed("Use 3-64 lower-case letters, digits and hyphens.", field="slug")
    if not (name or "").strip():
        raise ValidationFailed("A name is required.", field="name")
    if Workspace.objects.filter(slug=slug).exists():
        raise AlreadyExists(f"A workspace with slug '{slug}' already exists.", field="slug")
    return Workspace.objects.create(slug=slug, name=name.strip())


def create_agent(
    *,
    workspace: Workspace,
    email: str,
    role: str = Membership.Role.AGENT,
    password: str | None = None,
    display_name: str = "",
    is_operator: bool = False,
) -> tuple[User, Membership]:
    """Add an agent to a workspace, creating the user when the email is new.

    An existing user (an agent of another workspace) keeps their password and
    gains a membership; `password` then only applies to new users.
    `is_operator` also makes the user staff and superuser, so they can sign in
    to the Django admin; it only ever grants, never revokes.
    """
    if role not in Membership.Role.values:
        raise ValidationFailed("Must be 'admin' or 'agent'.", field="role")
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationFailed("A valid email is required.", field="email")
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, display_name=display_name)
            if password:
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise ValidationFailed(" ".join(exc.messages), field="password") from exc
                user.set_password(password)
            else:
                user.set_unusable_password()
            if is_operator:
                user.is_staff = True
                user.is_superuser = True
            user.save()
        elif is_operator and not (user.is_staff and user.is_superuser):
            User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
            user.is_staff = True
            user.is_superuser = True
        if Membership.objects.filter(workspace=workspace, user=user).exists():
            raise AlreadyExists(f"{email} is already a member of {workspace.slug}.", field="email")
        membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    return user, membership


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def create_api_key(
    *,
    workspace: Workspace,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is never stored or shown again."""
    if not (name or "").strip():
        raise ValidationFailed("A name is required.", field="name")
    scopes = list(scopes) if scopes else ["*"]
    unknown = [s for s in scopes if s != "*" and s not in API_SCOPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(API_SCOPES)}.",
            field="scopes",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("Must be in the future.", field="expiresAt")
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        workspace=workspace,
        name=name.strip(),
        prefix=prefix,
        hashed_secret=_hash_key(raw_key),
        scopes=scopes,
        expires_at=expires_at,
        created_by=created_by,
    )
    return key, raw_key


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def authenticate_api_key(raw_key: str) -> ApiKey | None:
    """The active key for `raw_key`, or None. One indexed lookup by prefix."""
    parts = (raw_key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = ApiKey.objects.select_related("workspace").filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.hashed_secret, _hash_key(raw_key)):
        return None
    now = timezone.now()
    if not key.is_active(now):
        return None
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > (
        LAST_USED_RESOLUTION_SECONDS
    ):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
