"""OpenAPI description of the agent auth endpoints (`/api/v1/auth/*`).

Response shapes are described here once and attached to the views in
`inbox.api.auth_views`. The request serializers live with the views (they
validate the bodies); each entry below is the rest of an `extend_schema` call.
Component names start with `Auth` so they never collide with other resources'.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from messaging.api.schema import ERROR, _meta, inline

TAG = "Auth"

# Only agent access tokens are documented for /auth/me and /auth/logout:
# an API key is answered with 403 there.
AGENT_TOKEN_ONLY: list[dict[str, list[str]]] = [{"agentAccessToken": []}]


def _workspace() -> serializers.Serializer:
    return inline(
        "AuthWorkspace",
        {
            "id": serializers.CharField(help_text="ws_..."),
            "slug": serializers.CharField(),
            "name": serializers.CharField(),
        },
    )


def _user(name: str, extra: dict[str, Any] | None = None) -> serializers.Serializer:
    return inline(
        name,
        {
            "id": serializers.CharField(help_text="user_..."),
            "type": serializers.CharField(default="user"),
            "attributes": inline(
                f"{name}Attributes",
                {
                    "email": serializers.EmailField(),
                    "name": serializers.CharField(),
                    "role": serializers.ChoiceField(
                        choices=["admin", "agent"], help_text="Role in the token's workspace."
                    ),
                    "workspace": _workspace(),
                    **(extra or {}),
                },
            ),
        },
    )


TOKEN_RESPONSE = inline(
    "AuthTokenResponse",
    {
        "data": _user("AuthUser"),
        "meta": inline(
            "AuthTokenMeta",
            {
                "requestId": serializers.CharField(),
                "accessToken": serializers.CharField(help_text="iat_...; send as Bearer."),
                "refreshToken": serializers.CharField(
                    help_text="irt_...; single use: each refresh returns a new one."
                ),
                "expiresIn": serializers.IntegerField(help_text="Seconds the access token lives."),
                "refreshExpiresIn": serializers.IntegerField(
                    help_text="Seconds the refresh token lives."
                ),
                "tokenType": serializers.ChoiceField(choices=["Bearer"]),
            },
        ),
    },
)

ME_RESPONSE = inline(
    "AuthMeResponse",
    {
        "data": _user(
            "AuthMe",
            {
                "workspaces": serializers.ListField(
                    child=inline(
                        "AuthMembership",
                        {
                            "id": serializers.CharField(help_text="ws_..."),
                            "slug": serializers.CharField(),
                            "name": serializers.CharField(),
                            "role": serializers.ChoiceField(choices=["admin", "agent"]),
                        },
                    ),
                    help_text="Every workspace the user belongs to (sign in to each separately).",
                )
            },
        ),
        "meta": _meta(),
    },
)

LOGOUT_RESPONSE = inline(
    "AuthLogoutResponse",
    {
        "data": inline(
            "AuthLogoutResult",
            {
                "allDevices": serializers.BooleanField(),
                "revokedSessions": serializers.IntegerField(
                    help_text="Sign-ins (token families) revoked by this call."
                ),
            },
        ),
        "meta": _meta(),
    },
)


def _errors(*entries: tuple[int, str]) -> dict[int, OpenApiResponse]:
    """Error responses of the auth endpoints (they differ from the API-key ones)."""
    by_status: dict[int, list[str]] = {}
    for status, codes in [*entries, (429, "RATE_LIMIT_EXCEEDED")]:
        by_status.setdefault(status, []).append(codes)
    return {
        status: OpenApiResponse(ERROR, description="Error codes: " + ", ".join(codes))
        for status, codes in by_status.items()
    }


_NOT_IDEMPOTENT = (
    " An `Idempotency-Key` header is ignored here: a stored answer would keep live tokens."
)

LOGIN: dict[str, Any] = {
    "tags": [TAG],
    "summary": "Sign in as an agent",
    "operation_id": "authLogin",
    "description": "Checks the email and password and issues an access and a refresh token "
    "for one workspace. `workspace` (slug or `ws_` id) is required when the user belongs "
    "to several. After too many failed attempts in a row the account is locked for a "
    "while (403 ACCOUNT_LOCKED with `retryAfter`), even for the right password." + _NOT_IDEMPOTENT,
    "auth": [],
    "responses": {
        200: TOKEN_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (401, "INVALID_CREDENTIALS"),
            (403, "ACCOUNT_LOCKED"),
        ),
    },
    "examples": [
        OpenApiExample(
            "Login",
            request_only=True,
            value={"email": "agent@acme.test", "password": "correct-horse-battery-staple"},
        )
    ],
}

REFRESH: dict[str, Any] = {
    "tags": [TAG],
    "summary": "Exchange a refresh token for a new pair",
    "operation_id": "authRefresh",
    "description": "Rotates: the refresh token sent is used up and a new access and refresh "
    "token are returned. Sending a used refresh token again is treated as theft: every "
    "token of that sign-in is revoked (401 TOKEN_REVOKED) and the agent must sign in "
    "again, so a client must never send two refreshes with one token." + _NOT_IDEMPOTENT,
    "auth": [],
    "responses": {
        200: TOKEN_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (401, "INVALID_TOKEN, TOKEN_REVOKED, TOKEN_EXPIRED"),
        ),
    },
}

LOGOUT: dict[str, Any] = {
    "tags": [TAG],
    "summary": "Sign out",
    "operation_id": "authLogout",
    "description": "Revokes every token of this sign-in, or with `allDevices` every token "
    "of the user in every workspace." + _NOT_IDEMPOTENT,
    "auth": AGENT_TOKEN_ONLY,
    "responses": {
        200: LOGOUT_RESPONSE,
        **_errors(
            (400, "VALIDATION_ERROR"),
            (401, "AUTHENTICATION_REQUIRED, INVALID_TOKEN, TOKEN_EXPIRED"),
            (403, "INSUFFICIENT_PERMISSIONS (an API key instead of an agent token)"),
        ),
    },
}

ME: dict[str, Any] = {
    "tags": [TAG],
    "summary": "The signed-in agent",
    "operation_id": "authMe",
    "description": "The agent behind the access token, their role in the token's workspace "
    "and the workspaces they belong to. API keys act for a workspace, not a person: "
    "they get 403 here.",
    "auth": AGENT_TOKEN_ONLY,
    "responses": {
        200: ME_RESPONSE,
        **_errors(
            (401, "AUTHENTICATION_REQUIRED, INVALID_TOKEN, TOKEN_EXPIRED"),
            (403, "INSUFFICIENT_PERMISSIONS (an API key instead of an agent token)"),
        ),
    },
}
