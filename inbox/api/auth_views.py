"""Agent auth endpoints: login, refresh, logout, me (`/api/v1/auth/*`).

Login and refresh take no credentials: they run without authenticators and
count against the caller's IP in the API's rate limiter. Logout and me need
an agent access token; an API key acts for a workspace, not a person, so it
is answered 403 there. Token answers carry `Cache-Control: no-store` so no
proxy or browser keeps them, and nothing here logs a password or a token.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api import auth_schema, envelope
from inbox.api.authentication import bearer_token
from inbox.api.principal import Principal
from inbox.api.views import ApiView, client_ip
from inbox.auth_services import (
    TOKEN_TYPE,
    TokenPair,
    login,
    logout,
    refresh,
    workspaces_of,
)
from inbox.models import User, Workspace
from messaging.api.serializers import StrictSerializer

# --- Request bodies -----------------------------------------------------------------


class AuthLoginSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    # Passwords are taken exactly as typed; the cap only bounds hashing work.
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    workspace = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Slug or ws_ id; required when the user belongs to several workspaces.",
    )


class AuthRefreshSerializer(StrictSerializer):
    refreshToken = serializers.CharField(max_length=200)


class AuthLogoutSerializer(StrictSerializer):
    allDevices = serializers.BooleanField(required=False, default=False)


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Rendering ----------------------------------------------------------------------


def _workspace_data(workspace: Workspace) -> dict[str, str]:
    return {"id": workspace.public_id, "slug": workspace.slug, "name": workspace.name}


def user_resource(user: User, workspace: Workspace, role: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": user.public_id,
        "type": "user",
        "attributes": {
            "email": user.email,
            "name": user.name,
            "role": role,
            "workspace": _workspace_data(workspace),
            **extra,
        },
    }


def _no_store(response: Response) -> Response:
    # RFC 6749 5.1: answers carrying tokens must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _token_response(request: Request, pair: TokenPair) -> Response:
    return _no_store(
        envelope.single(
            request,
            user_resource(pair.user, pair.workspace, pair.role),
            accessToken=pair.access_token,
            refreshToken=pair.refresh_token,
            expiresIn=pair.expires_in,
            refreshExpiresIn=pair.refresh_expires_in,
            tokenType=TOKEN_TYPE,
        )
    )


# --- Views --------------------------------------------------------------------------


class PublicAuthView(ApiView):
    """Login and refresh: no credentials, limited per client IP, never replayed."""

    # A stale or foreign Bearer header must not stop an agent from signing in.
    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    honours_idempotency_key = False

    def check_throttles(self, request: Request) -> None:
        # No principal to key the limit on: the caller's IP pays, as for any
        # unauthenticated call to the API.
        self._rate_limit(request, f"ip:{client_ip(request)}")


class HasAgentToken(BasePermission):
    """The caller is a signed-in agent (access token), not an API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            raise NotAuthenticated("Send an access token as `Authorization: Bearer iat_...`.")
        if principal.user is None:
            raise PermissionDenied(
                "This endpoint acts for a signed-in agent: use an access token from "
                "POST /api/v1/auth/login, not an API key."
            )
        return True


class AgentAuthView(ApiView):
    permission_classes = [HasAgentToken]
    # A replay would answer for a sign-in that the first call already revoked.
    honours_idempotency_key = False


class LoginView(PublicAuthView):
    @extend_schema(request=AuthLoginSerializer, **auth_schema.LOGIN)
    def post(self, request: Request) -> Response:
        data = _validated(AuthLoginSerializer, request.data)
        pair = login(
            email=data["email"],
            password=data["password"],
            workspace_slug=data.get("workspace"),
            user_agent=request.headers.get("User-Agent", ""),
            ip=client_ip(request),
        )
        return _token_response(request, pair)


class RefreshView(PublicAuthView):
    @extend_schema(request=AuthRefreshSerializer, **auth_schema.REFRESH)
    def post(self, request: Request) -> Response:
        data = _validated(AuthRefreshSerializer, request.data)
        return _token_response(request, refresh(refresh_token=data["refreshToken"]))


class LogoutView(AgentAuthView):
    @extend_schema(request=AuthLogoutSerializer, **auth_schema.LOGOUT)
    def post(self, request: Request) -> Response:
        data = _validated(AuthLogoutSerializer, request.data)
        revoked = logout(access_token=bearer_token(request) or "", all_devices=data["allDevices"])
        return envelope.single(
            request, {"allDevices": data["allDevices"], "revokedSessions": revoked}
        )


class MeView(AgentAuthView):
    @extend_schema(**auth_schema.ME)
    def get(self, request: Request) -> Response:
        principal = self.principal
        memberships = workspaces_of(principal.user)
        workspaces = [{**_workspace_data(m.workspace), "role": m.role} for m in memberships]
        return envelope.single(
            request,
            user_resource(
                principal.user, principal.workspace, principal.role, workspaces=workspaces
            ),
        )
