"""Who is calling: a workspace, through an API key or an agent's access token."""

from __future__ import annotations

from dataclasses import dataclass, field

from inbox.models import ApiKey, User, Workspace


@dataclass(frozen=True)
class Principal:
    workspace: Workspace
    api_key: ApiKey | None = None
    user: User | None = None
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has_scope(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    @property
    def rate_limit_key(self) -> str:
        if self.api_key is not None:
            return f"key:{self.api_key.pk}"
        return f"user:{self.user.pk if self.user else 'anon'}:{self.workspace.pk}"
