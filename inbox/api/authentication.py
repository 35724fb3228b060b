"""Bearer API keys: `Authorization: Bearer ik_...`."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from inbox.api.principal import Principal
from inbox.services import KEY_PREFIX, authenticate_api_key


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
