"""Scope checks: each view names the scope each method needs."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from inbox.api.principal import Principal


class HasScope(BasePermission):
    """`view.required_scopes = {"GET": "messages:read", "POST": "messages:write"}`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            raise NotAuthenticated("Send an API key as `Authorization: Bearer <key>`.")
        scope = getattr(view, "required_scopes", {}).get(request.method)
        if scope and not principal.has_scope(scope):
            who = "API key" if principal.api_key is not None else f"{principal.role} role"
            raise PermissionDenied(f"This {who} lacks the `{scope}` scope.")
        return True
