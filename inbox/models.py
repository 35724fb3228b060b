"""Tenancy and people: workspaces, the agents who work in them, and API keys."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from inbox.ids import PublicIdField


class UserManager(BaseUserManager["User"]):
    """Users sign in with their email; there is no separate username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """An agent or operator. Belongs to workspaces through `Membership`."""

    username = None  # type: ignore[assignment]
    public_id = PublicIdField(prefix="user")
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    avatar_url = models.URLField(blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.email.split("@")[0]


class Workspace(models.Model):
    """The tenant: every domain row belongs to exactly one workspace."""

    public_id = PublicIdField(prefix="ws")
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        AGENT = "agent", "Agent"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["workspace", "user"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class ApiKey(models.Model):
    """A workspace's credential for integrations.

    The full key (`ik_<prefix>_<secret>`) is shown once at creation; only the
    SHA-256 of it is stored. Keys are 190+ bits of randomness, so a fast hash
    is enough and keeps authentication at one indexed lookup.
    """

    public_id = PublicIdField(prefix="key")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120)
    # Visible part of the key, shown in lists so operators can tell keys apart.
    prefix = models.CharField(max_length=16, unique=True)
    hashed_secret = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix})"

    @property
    def display_prefix(self) -> str:
        return f"ik_{self.prefix}_…"

    def is_active(self, now: Any = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def has_scope(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


class IdempotencyRecord(models.Model):
    """The stored outcome of a POST made with an `Idempotency-Key`.

    Inserted before the request runs (the unique constraint makes concurrent
    duplicates wait their turn or get a conflict), completed with the response
    afterwards, and replayed for 24 hours.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    # SHA-256 of method, path and body: the same key with another request is a conflict.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_unique_key"),
        ]
        indexes = [
            # Periodic purge of records older than the replay window.
            models.Index(fields=["created_at"], name="idempotency_created"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class TokenFamily(models.Model):
    """One agent sign-in (one device): the access and refresh tokens it rotates through.

    Revoking the family (logout, a reused refresh token, a removed agent)
    stops every token issued under it at once, with one row update.
    """

    class RevokeReason(models.TextChoices):
        LOGOUT = "logout", "Logout"
        LOGOUT_ALL = "logout_all", "Logout on all devices"
        REUSE = "reuse", "Refresh token reused"
        ACCESS_LOST = "access_lost", "User inactive or no longer a member"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=16, choices=RevokeReason.choices, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "token families"
        indexes = [
            # Logout on all devices revokes a user's live families.
            models.Index(fields=["user", "revoked_at"], name="tokenfamily_user_revoked"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} since {self.created_at:%Y-%m-%d %H:%M}"


class AuthToken(models.Model):
    """An agent's access (`iat_...`) or refresh (`irt_...`) token.

    Like API keys, only the SHA-256 of the raw token is stored; the raw token
    is 256 bits of randomness, so a fast hash and one indexed lookup suffice.
    """

    class Kind(models.TextChoices):
        ACCESS = "access", "Access"
        REFRESH = "refresh", "Refresh"

    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    # Refresh tokens only: set when rotated; presenting it again is reuse.
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} token of {self.family_id}"


class LoginThrottle(models.Model):
    """Consecutive failed logins per email (known or not), and the lock they cause.

    Keyed by email rather than user so an unknown email is throttled exactly
    like a known one and the answers reveal nothing about who has an account.
    """

    email = models.CharField(max_length=254, unique=True)
    # Attempts are counted when they start (see `auth_services.login`), so
    # parallel guesses cannot overrun the limit; a success deletes the row.
    failures = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email}: {self.failures} failures"


class CannedResponse(models.Model):
    """A saved reply agents insert in the composer by typing `/shortcut`.

    Written only by `inbox.canned_services`; workspace admins manage them (on
    the inbox's settings page or in the Django admin), every member uses them.
    """

    public_id = PublicIdField(prefix="canned")
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="canned_responses"
    )
    shortcut = models.CharField(max_length=32)
    title = models.CharField(max_length=120)
    text = models.TextField(max_length=4096)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shortcut", "id"]
        constraints = [
            # Also the index behind the composer's prefix search on the shortcut.
            models.UniqueConstraint(
                fields=["workspace", "shortcut"], name="canned_unique_shortcut"
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"
