"""The OpenAPI schema: valid OpenAPI 3, every endpoint and error code, docs served."""

from __future__ import annotations

import yaml
from django.core.management import call_command

EXPECTED = {
    "/api/v1/messages": {"get", "post"},
    "/api/v1/messages/{message_id}": {"get", "patch", "delete"},
    "/api/v1/messages/{message_id}/read": {"post"},
    "/api/v1/messages/bulk-read": {"post"},
    "/api/v1/messages/{message_id}/reactions": {"get", "post"},
    "/api/v1/conversations/{conversation_id}/messages": {"get"},
    "/api/v1/media/upload": {"post"},
    "/api/v1/conversations": {"get", "post"},
    "/api/v1/conversations/{conversation_id}": {"get", "patch"},
    "/api/v1/conversations/{conversation_id}/close": {"post"},
    "/api/v1/conversations/{conversation_id}/reopen": {"post"},
    "/api/v1/conversations/{conversation_id}/assign": {"post"},
    "/api/v1/conversations/{conversation_id}/transfer": {"post"},
    "/api/v1/conversations/{conversation_id}/participants": {"get"},
    "/api/v1/contacts": {"get", "post"},
    "/api/v1/contacts/{contact_id}": {"get", "patch", "delete"},
    "/api/v1/contacts/{contact_id}/merge": {"post"},
    "/api/v1/channels": {"get", "post"},
    "/api/v1/channels/{channel_id}": {"get", "patch", "delete"},
    "/api/v1/channels/{channel_id}/test": {"post"},
    "/api/v1/channels/{channel_id}/activate": {"post"},
    "/api/v1/channels/{channel_id}/deactivate": {"post"},
    "/api/v1/channels/{channel_id}/stats": {"get"},
    "/api/v1/webhooks": {"get", "post"},
    "/api/v1/webhooks/{webhook_id}": {"get", "patch", "delete"},
    "/api/v1/webhooks/{webhook_id}/test": {"post"},
    "/api/v1/webhooks/{webhook_id}/deliveries": {"get"},
    "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": {"post"},
    "/api/v1/auth/login": {"post"},
    "/api/v1/auth/refresh": {"post"},
    "/api/v1/auth/logout": {"post"},
    "/api/v1/auth/me": {"get"},
}
# Codes of native-api.md beyond the seed's, each documented somewhere.
SPEC_ERROR_CODES = {
    "AUTHENTICATION_REQUIRED",
    "INVALID_API_KEY",
    "INSUFFICIENT_PERMISSIONS",
    "CONVERSATION_EXISTS",
    "CONTACT_NOT_FOUND",
    "RESOURCE_ALREADY_EXISTS",
    "INVALID_CHANNEL_TYPE",
    "CHANNEL_ALREADY_EXISTS",
    "ACTIVE_CONVERSATIONS_EXIST",
    "INVALID_URL",
    "INVALID_EVENTS",
    "INVALID_CREDENTIALS",
    "ACCOUNT_LOCKED",
    "TOKEN_REVOKED",
    "IDEMPOTENCY_KEY_REUSED",
    "EDIT_NOT_SUPPORTED",
    "EDIT_WINDOW_EXPIRED",
}
SEED_ERROR_CODES = {
    "VALIDATION_ERROR",
    "INVALID_RECIPIENT",
    "UNSUPPORTED_CONTENT_TYPE",
    "CHANNEL_NOT_FOUND",
    "CONVERSATION_NOT_FOUND",
    "CHANNEL_NOT_CONNECTED",
    "OUTSIDE_MESSAGE_WINDOW",
    "RATE_LIMIT_EXCEEDED",
    "MESSAGE_NOT_FOUND",
    "DELETE_NOT_SUPPORTED",
    "DELETE_WINDOW_EXPIRED",
}


def _schema(tmp_path) -> dict:
    out = tmp_path / "schema.yml"
    # --validate checks the document against the OpenAPI 3 meta-schema;
    # --fail-on-warn makes any unresolved type or clash fail the test.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def test_the_schema_is_valid_and_lists_every_endpoint(tmp_path, db):
    schema = _schema(tmp_path)
    assert schema["openapi"].startswith("3.")
    for path, methods in EXPECTED.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path
    text = yaml.safe_dump(schema)
    for code in SEED_ERROR_CODES | SPEC_ERROR_CODES:
        assert code in text, code
    # Every operation says what can go wrong, not only what goes right.
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "patch", "delete", "put"):
                assert any(code.startswith("4") for code in operation["responses"]), (path, method)
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    send = schema["paths"]["/api/v1/messages"]["post"]
    assert {"201", "400", "401", "403", "404", "422", "429"} <= set(send["responses"])
    assert "MessageContent" in schema["components"]["schemas"]


def test_the_schema_and_docs_are_served(client, db):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/messages" in response.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    # The UI is served from our static files, not a CDN: it works offline.
    assert b"cdn.jsdelivr" not in docs.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content
    assert (
        client.get(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        ).status_code
        == 200
    )
