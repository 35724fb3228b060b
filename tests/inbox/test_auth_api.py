"""`/api/v1/auth/*`: login, refresh, logout, me, and access tokens on the rest of the API."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from inbox.api.views import ApiView
from inbox.auth_services import hash_token
from inbox.models import AuthToken, IdempotencyRecord, LoginThrottle, Membership, User
from inbox.services import create_agent, create_api_key
from messaging.services import receive_message
from tests.messaging.api.conftest import Api

PASSWORD = "correct-horse-battery-staple"


def _login(email: str, password: str = PASSWORD, **body) -> tuple[int, dict]:
    return Api(None).post("/auth/login", {"email": email, "password": password, **body})


def _token_api(email: str, **body) -> tuple[Api, dict]:
    status, payload = _login(email, **body)
    assert status == 200, payload
    return Api(payload["meta"]["accessToken"]), payload


@pytest.fixture
def api(workspace) -> Api:
    """A client with a workspace API key (acts for the workspace, not an agent)."""
    return Api(create_api_key(workspace=workspace, name="tests")[1])


def _without_request_id(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "meta"}


# --- Login ----------------------------------------------------------------------------


def test_login_answers_the_user_and_a_token_pair(agent, workspace):
    api = Api(None)
    status, body = api.post("/auth/login", {"email": agent.email, "password": PASSWORD})

    assert status == 200
    assert body["data"] == {
        "id": agent.public_id,
        "type": "user",
        "attributes": {
            "email": "agent@acme.test",
            "name": agent.name,
            "role": "agent",
            "workspace": {"id": workspace.public_id, "slug": "acme", "name": "Acme Support"},
        },
    }
    meta = body["meta"]
    assert meta["accessToken"].startswith("iat_") and meta["refreshToken"].startswith("irt_")
    assert (meta["expiresIn"], meta["tokenType"]) == (900, "Bearer")
    assert meta["refreshExpiresIn"] == 30 * 86400 and meta["requestId"]
    assert api.last["Cache-Control"] == "no-store"
    assert "X-RateLimit-Remaining" in api.last


def test_login_with_two_workspaces_needs_the_workspace(agent, workspace, other_workspace):
    create_agent(workspace=other_workspace, email=agent.email, role=Membership.Role.ADMIN)

    status, body = _login(agent.email)
    assert status == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"][0]["field"] == "workspace"
    assert "globex" not in str(body).lower() and "acme" not in str(body).lower()

    status, body = _login(agent.email, workspace="globex")
    assert status == 200
    assert body["data"]["attributes"]["role"] == "admin"
    assert body["data"]["attributes"]["workspace"]["slug"] == "globex"


def test_wrong_password_and_unknown_email_get_identical_answers(agent):
    wrong = _login(agent.email, "not-the-password")
    unknown = _login("nobody@acme.test", "not-the-password")
    assert wrong[0] == unknown[0] == 401
    assert _without_request_id(wrong[1]) == _without_request_id(unknown[1])
    assert wrong[1]["error"]["code"] == "INVALID_CREDENTIALS"


def test_inactive_user_cannot_login(agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    status, body = _login(agent.email)
    assert (status, body["error"]["code"]) == (401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "agent@acme.test"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "agent@acme.test", "password": PASSWORD, "remember": True}, "remember"),
        ({"email": "agent@acme.test", "password": ["x"]}, "password"),
    ],
)
def test_login_validation_names_the_field(agent, body, field):
    status, answer = Api(None).post("/auth/login", body)
    assert status == 400
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    assert answer["error"]["details"][0]["field"] == field


def test_malformed_json_is_a_validation_error(db):
    status, body = Api(None).post("/auth/login", "{not json", content_type="application/json")
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")


def test_lockout_answers_account_locked_even_for_the_right_password(agent, settings):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 3
    settings.LOGIN_LOCKOUT_SECONDS = 900
    for _ in range(3):
        assert _login(agent.email, "wrong-password")[0] == 401

    api = Api(None)
    status, body = api.post("/auth/login", {"email": agent.email, "password": PASSWORD})
    assert status == 403
    assert body["error"]["code"] == "ACCOUNT_LOCKED"
    assert 890 <= body["error"]["retryAfter"] <= 900
    assert api.last["Retry-After"] == str(body["error"]["retryAfter"])

    # Time passes: the lock has run out.
    LoginThrottle.objects.filter(email=agent.email).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert _login(agent.email)[0] == 200


def test_login_is_rate_limited_per_ip_although_it_is_public(agent, settings):
    settings.API_RATE_LIMIT = 3
    api = Api(None)
    for _ in range(3):
        assert api.post("/auth/login", {"email": agent.email, "password": "wrong"})[0] == 401
    status, body = api.post("/auth/login", {"email": agent.email, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (429, "RATE_LIMIT_EXCEEDED")
    assert body["error"]["retryAfter"] >= 1
    # Refresh shares the IP's budget.
    assert api.post("/auth/refresh", {"refreshToken": "irt_x"})[0] == 429


def test_a_stale_bearer_header_does_not_block_login(agent):
    status, _ = Api("iat_stale-token-from-yesterday").post(
        "/auth/login", {"email": agent.email, "password": PASSWORD}
    )
    assert status == 200


def test_idempotency_key_is_not_used_to_store_tokens(agent):
    api = Api(None)
    body = {"email": agent.email, "password": PASSWORD}
    first = api.post("/auth/login", body, HTTP_IDEMPOTENCY_KEY="same")[1]
    second = api.post("/auth/login", body, HTTP_IDEMPOTENCY_KEY="same")[1]
    assert first["meta"]["accessToken"] != second["meta"]["accessToken"]
    assert not IdempotencyRecord.objects.exists()


def test_passwords_and_tokens_are_never_logged(agent, caplog):
    caplog.set_level(logging.DEBUG)
    _login(agent.email, "a-wrong-secret-password")
    status, body = _login(agent.email)
    raw_refresh = body["meta"]["refreshToken"]
    rotated = Api(None).post("/auth/refresh", {"refreshToken": raw_refresh})[1]
    Api(None).post("/auth/refresh", {"refreshToken": raw_refresh})  # reuse

    secrets = [
        "a-wrong-secret-password",
        PASSWORD,
        raw_refresh,
        body["meta"]["accessToken"],
        rotated["meta"]["accessToken"],
    ]
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert status == 200
    assert not [secret for secret in secrets if secret in logged]
    # Stored as hashes only.
    assert not AuthToken.objects.filter(token_hash=raw_refresh).exists()
    assert AuthToken.objects.filter(token_hash=hash_token(raw_refresh)).exists()


# --- Refresh ----------------------------------------------------------------------------


def test_refresh_returns_a_new_pair_and_the_old_refresh_token_stops(agent):
    _, first = _login(agent.email)
    anonymous = Api(None)

    status, second = anonymous.post(
        "/auth/refresh", {"refreshToken": first["meta"]["refreshToken"]}
    )
    assert status == 200
    assert second["data"]["id"] == agent.public_id
    assert second["meta"]["refreshToken"] != first["meta"]["refreshToken"]
    assert anonymous.last["Cache-Control"] == "no-store"
    assert Api(second["meta"]["accessToken"]).get("/auth/me")[0] == 200


def test_reused_refresh_token_revokes_the_family(agent):
    _, first = _login(agent.email)
    anonymous = Api(None)
    old_refresh = first["meta"]["refreshToken"]
    _, second = anonymous.post("/auth/refresh", {"refreshToken": old_refresh})

    status, body = anonymous.post("/auth/refresh", {"refreshToken": old_refresh})
    assert (status, body["error"]["code"]) == (401, "TOKEN_REVOKED")

    # The pair from the first rotation stops working too.
    status, body = Api(second["meta"]["accessToken"]).get("/auth/me")
    assert (status, body["error"]["code"]) == (401, "INVALID_TOKEN")
    status, body = anonymous.post("/auth/refresh", {"refreshToken": second["meta"]["refreshToken"]})
    assert (status, body["error"]["code"]) == (401, "TOKEN_REVOKED")


def test_refresh_errors(agent):
    _, pair = _login(agent.email)
    anonymous = Api(None)
    AuthToken.objects.filter(kind=AuthToken.Kind.REFRESH).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    status, body = anonymous.post("/auth/refresh", {"refreshToken": pair["meta"]["refreshToken"]})
    assert (status, body["error"]["code"]) == (401, "TOKEN_EXPIRED")
    status, body = anonymous.post("/auth/refresh", {"refreshToken": "irt_unknown"})
    assert (status, body["error"]["code"]) == (401, "INVALID_TOKEN")
    status, body = anonymous.post("/auth/refresh", {})
    assert (status, body["error"]["details"][0]["field"]) == (400, "refreshToken")


# --- Access tokens -----------------------------------------------------------------------


def test_expired_access_token_is_token_expired(agent):
    api, _ = _token_api(agent.email)
    AuthToken.objects.filter(kind=AuthToken.Kind.ACCESS).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    status, body = api.get("/messages")
    assert (status, body["error"]["code"]) == (401, "TOKEN_EXPIRED")
    assert "WWW-Authenticate" in api.last


def test_unknown_access_token_is_invalid_token(db):
    status, body = Api("iat_made-up").get("/messages")
    assert (status, body["error"]["code"]) == (401, "INVALID_TOKEN")


def test_access_token_reads_messages_of_its_workspace_only(agent, stranger, conversation):
    ours, _ = _token_api(agent.email)
    theirs, _ = _token_api(stranger.email)
    message = conversation.messages.get()

    status, body = ours.get("/messages")
    assert status == 200
    assert [m["id"] for m in body["data"]] == [message.public_id]

    status, body = theirs.get("/messages")
    assert (status, body["data"]) == (200, [])
    status, body = theirs.get(f"/messages/{message.public_id}")
    assert (status, body["error"]["code"]) == (404, "MESSAGE_NOT_FOUND")
    status, body = theirs.get(f"/conversations/{conversation.public_id}/messages")
    assert status == 404


def test_the_token_acts_only_in_the_workspace_it_was_issued_for(
    agent, other_workspace, make_channel
):
    create_agent(workspace=other_workspace, email=agent.email)
    received = receive_message(
        channel=make_channel(other_workspace),
        sender="+5511988887777",
        content={"type": "text", "text": "globex only"},
        provider_message_id="wamid.globex",
    )
    acme, _ = _token_api(agent.email, workspace="acme")
    status, body = acme.get("/messages")
    assert (status, body["data"]) == (200, [])
    assert acme.get(f"/messages/{received.message.public_id}")[0] == 404


class _WebhookWriteProbe(ApiView):
    """A stand-in endpoint needing `webhooks:write`, to test roles without other resources."""

    required_scopes = {"POST": "webhooks:write", "GET": "channels:read"}

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        return Response({"ok": True})


def _probe(method: str, token: str) -> int:
    factory = APIRequestFactory()
    request = getattr(factory, method)("/probe", HTTP_AUTHORIZATION=f"Bearer {token}")
    return _WebhookWriteProbe.as_view()(request).status_code


def test_roles_limit_what_a_token_may_do(agent, admin_user):
    _, agent_login = _login(agent.email)
    _, admin_login = _login(admin_user.email)
    agent_token = agent_login["meta"]["accessToken"]

    assert _probe("get", agent_token) == 200
    assert _probe("post", agent_token) == 403
    assert _probe("post", admin_login["meta"]["accessToken"]) == 200

    # Roles are read live: promoting the agent applies to the token at once.
    Membership.objects.filter(user=agent).update(role=Membership.Role.ADMIN)
    assert _probe("post", agent_token) == 200


def test_an_agent_token_cannot_change_channels_or_webhooks(agent):
    token_api, _ = _token_api(agent.email)
    for path in ("/channels", "/webhooks"):
        status, body = token_api.post(path, {})
        assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS"), path
    assert token_api.get("/messages")[0] == 200


# --- Logout -----------------------------------------------------------------------------


def test_logout_revokes_this_device_only(agent):
    laptop, laptop_login = _token_api(agent.email)
    phone, _ = _token_api(agent.email)

    status, body = laptop.post("/auth/logout")
    assert status == 200
    assert body["data"] == {"allDevices": False, "revokedSessions": 1}
    assert laptop.get("/auth/me")[1]["error"]["code"] == "INVALID_TOKEN"
    status, body = Api(None).post(
        "/auth/refresh", {"refreshToken": laptop_login["meta"]["refreshToken"]}
    )
    assert (status, body["error"]["code"]) == (401, "TOKEN_REVOKED")
    assert phone.get("/auth/me")[0] == 200


def test_logout_on_all_devices(agent):
    laptop, _ = _token_api(agent.email)
    phone, _ = _token_api(agent.email)

    status, body = laptop.post("/auth/logout", {"allDevices": True})
    assert (status, body["data"]) == (200, {"allDevices": True, "revokedSessions": 2})
    assert laptop.get("/auth/me")[0] == 401
    assert phone.get("/auth/me")[0] == 401


def test_logout_validation_and_credentials(agent, api):
    laptop, _ = _token_api(agent.email)
    status, body = laptop.post("/auth/logout", {"allDevices": "maybe"})
    assert (status, body["error"]["details"][0]["field"]) == (400, "allDevices")
    assert laptop.get("/auth/me")[0] == 200  # nothing was revoked

    status, body = api.post("/auth/logout")
    assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS")
    status, body = Api(None).post("/auth/logout")
    assert (status, body["error"]["code"]) == (401, "AUTHENTICATION_REQUIRED")


# --- Me ---------------------------------------------------------------------------------


def test_me_shows_the_user_role_and_workspaces(agent, workspace, other_workspace):
    create_agent(workspace=other_workspace, email=agent.email, role=Membership.Role.ADMIN)
    me, _ = _token_api(agent.email, workspace="acme")

    status, body = me.get("/auth/me")
    assert status == 200
    attributes = body["data"]["attributes"]
    assert body["data"]["id"] == agent.public_id
    assert attributes["role"] == "agent"
    assert attributes["workspace"]["id"] == workspace.public_id
    assert attributes["workspaces"] == [
        {"id": workspace.public_id, "slug": "acme", "name": "Acme Support", "role": "agent"},
        {"id": other_workspace.public_id, "slug": "globex", "name": "Globex", "role": "admin"},
    ]


def test_me_needs_an_agent_token(api):
    status, body = api.get("/auth/me")
    assert status == 403
    assert body["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert "access token" in body["error"]["message"]
    status, body = Api(None).get("/auth/me")
    assert (status, body["error"]["code"]) == (401, "AUTHENTICATION_REQUIRED")


def test_me_runs_a_fixed_number_of_queries(agent, workspace, other_workspace):
    create_agent(workspace=other_workspace, email=agent.email)
    me, _ = _token_api(agent.email, workspace="acme")
    with CaptureQueriesContext(connection) as queries:
        assert me.get("/auth/me")[0] == 200
    # 1. the access token joined with its family, user, workspace and live role
    # 2. the user's memberships with their workspaces
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_api_keys_keep_working_next_to_access_tokens(agent, workspace):
    _, raw = create_api_key(workspace=workspace, name="crm")
    assert Api(raw).get("/messages")[0] == 200
    status, body = Api("ik_x_bad").get("/messages")
    assert (status, body["error"]["code"]) == (401, "INVALID_API_KEY")


# --- OpenAPI ----------------------------------------------------------------------------


def test_auth_endpoints_are_documented(tmp_path, db):
    import yaml
    from django.core.management import call_command

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())

    paths = schema["paths"]
    for path, method in [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/me", "get"),
    ]:
        assert method in paths[path], path
    login_doc = paths["/api/v1/auth/login"]["post"]
    assert "ACCOUNT_LOCKED" in login_doc["responses"]["403"]["description"]
    assert "INVALID_CREDENTIALS" in login_doc["responses"]["401"]["description"]
    assert not login_doc.get("security")
    assert paths["/api/v1/auth/me"]["get"]["security"] == [{"agentAccessToken": []}]
    assert {"apiKey": []} in paths["/api/v1/messages"]["get"]["security"]
    assert {"agentAccessToken": []} in paths["/api/v1/messages"]["get"]["security"]
    assert schema["components"]["securitySchemes"]["agentAccessToken"]["scheme"] == "bearer"
    assert "AuthTokenResponse" in schema["components"]["schemas"]
