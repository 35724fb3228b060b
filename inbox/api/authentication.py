"""Bearer credentials: API keys (`ik_...`) and agent access tokens (`iat_...`)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from inbox.api.principal import Principal
from inbox.auth_services import ACCESS_PREFIX, TokenExpired, authenticate_access_token
from inbox.models import User
from inbox.services import KEY_PREFIX, ROLE_SCOPES, authenticate_api_key


class InvalidApiKey(AuthenticationFailed):
    default_code = "INVALID_API_KEY"
    default_detail = "The API key is unknown, revoked or expired."


def bearer_token(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, Principal] | None:
        token = bearer_token(request)
        if token is None:
            return None
        if not token.startswith(f"{KEY_PREFIX}_"):
            # Not an API key: let another authenticator (access tokens) try.
            return None
        key = authenticate_api_key(token)
        if key is None:
            raise InvalidApiKey()
        principal = Principal(workspace=key.workspace, api_key=key, scopes=frozenset(key.scopes))
        return AnonymousUser(), principal

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing.
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the bearer API key in the OpenAPI schema."""

    target_class = "inbox.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ik_<prefix>_<secret>",
            "description": "A workspace API key from `manage.py create_api_key` or the admin.",
        }


# --- Agent access tokens: `Authorization: Bearer iat_...` -------------------------


class InvalidAccessToken(AuthenticationFailed):
    default_code = "INVALID_TOKEN"
    default_detail = "The access token is unknown or revoked; sign in again."


class AccessTokenExpired(AuthenticationFailed):
    default_code = "TOKEN_EXPIRED"
    default_detail = "The access token has expired; refresh it with POST /api/v1/auth/refresh."


class AccessTokenAuthentication(BaseAuthentication):
    """An agent's access token: acts in its workspace with the agent's current role."""

    def authenticate(self, request: Request) -> tuple[User, Principal] | None:
        token = bearer_token(request)
        if token is None or not token.startswith(f"{ACCESS_PREFIX}_"):
            return None
        try:
            grant = authenticate_access_token(token)
        except TokenExpired as exc:
            raise AccessTokenExpired() from exc
        if grant is None:
            raise InvalidAccessToken()
        principal = Principal(
            workspace=grant.workspace,
            user=grant.user,
            role=grant.role,
            scopes=frozenset(ROLE_SCOPES.get(grant.role, ())),
        )
        return grant.user, principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class AccessTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the agent access token in the OpenAPI schema."""

    target_class = "inbox.api.authentication.AccessTokenAuthentication"
    name = "agentAccessToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "iat_<secret>",
            "description": "An agent's short-lived access token from POST /api/v1/auth/login "
            "or /auth/refresh; it acts in one workspace with the agent's role.",
        }
