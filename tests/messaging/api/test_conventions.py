"""The shared API conventions: auth, envelope, request ids, rate limits,
idempotency, and errors that are never HTML and never a 500."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from inbox.models import ApiKey
from inbox.services import create_api_key, revoke_api_key
from messaging.models import Message

from .conftest import Api

TEXT = {"type": "text", "text": "Hello"}


def _send_body(conversation):
    return {"conversationId": conversation.public_id, "content": TEXT}


# --- Auth ---------------------------------------------------------------------


def test_a_missing_key_is_401_authentication_required(anonymous_api, db):
    status, body = anonymous_api.get("/messages")
    assert status == 401
    assert body["error"]["code"] == "AUTHENTICATION_REQUIRED"
    assert anonymous_api.last["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer ik_nope_nope", "Bearer ik_", "Bearer  "])
def test_an_unknown_key_is_401_invalid_api_key(db, header):
    api = Api(None)
    api.client.credentials(HTTP_AUTHORIZATION=header)
    status, body = api.get("/messages")
    assert status == 401
    assert body["error"]["code"] in ("INVALID_API_KEY", "AUTHENTICATION_REQUIRED")
    if header == "Bearer ik_nope_nope":
        assert body["error"]["code"] == "INVALID_API_KEY"


def test_revoked_and_expired_keys_are_401_invalid_api_key(workspace):
    key, raw = create_api_key(workspace=workspace, name="old")
    revoke_api_key(api_key=key)
    assert Api(raw).get("/messages")[1]["error"]["code"] == "INVALID_API_KEY"
    key2, raw2 = create_api_key(
        workspace=workspace, name="temp", expires_at=timezone.now() + timedelta(minutes=1)
    )
    ApiKey.objects.filter(pk=key2.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Api(raw2).get("/messages")[1]["error"]["code"] == "INVALID_API_KEY"


def test_a_key_without_the_scope_is_403(workspace, conversation):
    _, raw = create_api_key(workspace=workspace, name="reader", scopes=["messages:read"])
    reader = Api(raw)
    assert reader.get("/messages")[0] == 200
    status, body = reader.post("/messages", _send_body(conversation))
    assert status == 403
    assert body["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert "messages:write" in body["error"]["message"]
    assert not Message.objects.filter(direction="outbound").exists()


# --- Envelope, request ids ----------------------------------------------------------


def test_the_request_id_is_echoed_in_header_and_meta(api, db):
    status, body = api.get("/messages", HTTP_X_REQUEST_ID="client-req-42")
    assert status == 200
    assert api.last["X-Request-ID"] == "client-req-42"
    assert body["meta"]["requestId"] == "client-req-42"


def test_errors_carry_the_request_id_too(api, db):
    status, body = api.get("/messages/msg_missing", HTTP_X_REQUEST_ID="trace-9")
    assert status == 404
    assert body == {
        "error": {"code": "MESSAGE_NOT_FOUND", "message": "Message msg_missing does not exist."},
        "meta": {"requestId": "trace-9"},
    }


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "code"),
    [
        ("post", "/messages", "{not json", 400, "VALIDATION_ERROR"),
        ("post", "/messages", "[1, 2]", 400, "VALIDATION_ERROR"),
        (
            "post",
            "/messages",
            '{"channelId": 5, "to": [], "content": "x"}',
            400,
            "VALIDATION_ERROR",
        ),
        ("post", "/messages/bulk-read", '{"messageIds": "msg_1"}', 400, "VALIDATION_ERROR"),
        ("get", "/no-such-route", None, 404, "RESOURCE_NOT_FOUND"),
        ("get", "/messages/x/y/z", None, 404, "RESOURCE_NOT_FOUND"),
        ("put", "/messages", "{}", 405, "METHOD_NOT_ALLOWED"),
        ("delete", "/messages", None, 405, "METHOD_NOT_ALLOWED"),
        ("get", "/messages?perPage=abc", None, 400, "VALIDATION_ERROR"),
        ("get", "/messages?perPage=101", None, 400, "VALIDATION_ERROR"),
        ("get", "/messages?page=0", None, 400, "VALIDATION_ERROR"),
        ("get", "/messages?status=lost", None, 400, "VALIDATION_ERROR"),
        ("get", "/messages?startDate=yesterday", None, 400, "VALIDATION_ERROR"),
        ("get", "/messages?sortBy=secret", None, 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_input_answers_in_the_envelope(api, db, method, path, data, status, code):
    client_method = getattr(api.client, method)
    kwargs = {"content_type": "application/json"} if data is not None else {}
    response = client_method(f"/api/v1{path}", data, **kwargs)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    assert body["meta"]["requestId"]


def test_validation_errors_name_the_field(api, conversation):
    status, body = api.post(
        "/messages", {"conversationId": conversation.public_id, "content": {"type": "image"}}
    )
    assert status == 400
    assert body["error"]["details"] == [
        {"field": "content.url", "message": "This field is required."}
    ]


def test_unknown_top_level_fields_are_refused(api, conversation):
    status, body = api.post("/messages", {**_send_body(conversation), "colour": "red"})
    assert status == 400
    assert body["error"]["details"][0]["field"] == "colour"


def test_unknown_routes_under_api_are_json_even_with_debug(client, settings, db):
    settings.DEBUG = True
    response = client.get("/api/v2/anything")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_an_unexpected_crash_is_a_500_envelope_without_traceback(api, conversation, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr("messaging.api.views.send_message", boom)
    status, body = api.post("/messages", _send_body(conversation))
    assert status == 500
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "secret detail" not in str(body)


# --- Rate limits --------------------------------------------------------------


@pytest.fixture
def frozen_window(monkeypatch):
    """Pin the clock mid-window so no test straddles a window boundary."""
    monkeypatch.setattr("inbox.api.ratelimit.time.time", lambda: 1_800_000_030.0)


def test_every_response_carries_rate_limit_headers(api, anonymous_api, db):
    api.get("/messages")
    first = int(api.last["X-RateLimit-Remaining"])
    api.get("/messages/msg_nope")
    assert int(api.last["X-RateLimit-Remaining"]) == first - 1
    assert int(api.last["X-RateLimit-Limit"]) > 0
    assert int(api.last["X-RateLimit-Reset"]) >= int(timezone.now().timestamp())
    anonymous_api.get("/messages")
    assert "X-RateLimit-Remaining" in anonymous_api.last


def test_over_the_limit_is_429_with_retry_after(api, db, settings, frozen_window):
    settings.API_RATE_LIMIT = 3
    statuses = [api.get("/messages")[0] for _ in range(3)]
    status, body = api.get("/messages")
    assert statuses == [200, 200, 200]
    assert status == 429
    assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= body["error"]["retryAfter"] <= settings.API_RATE_WINDOW_SECONDS
    assert api.last["Retry-After"] == str(body["error"]["retryAfter"])
    assert api.last["X-RateLimit-Remaining"] == "0"


def test_limits_are_per_key(api, stranger_api, db, settings, frozen_window):
    settings.API_RATE_LIMIT = 2
    api.get("/messages")
    api.get("/messages")
    assert api.get("/messages")[0] == 429
    assert stranger_api.get("/messages")[0] == 200


# --- Idempotency --------------------------------------------------------------


def test_a_replayed_post_returns_the_original_and_sends_nothing(
    api, conversation, django_capture_on_commit_callbacks
):
    body = _send_body(conversation)
    with django_capture_on_commit_callbacks(execute=True) as first_callbacks:
        first = api.post("/messages", body, HTTP_IDEMPOTENCY_KEY="order-1")
    with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
        second = api.post("/messages", body, HTTP_IDEMPOTENCY_KEY="order-1")
    assert first[0] == second[0] == 201
    assert first[1]["data"] == second[1]["data"]
    assert api.last["Idempotent-Replayed"] == "true"
    # The delivery task (record_event's dispatcher and live-update callbacks
    # aside); none on replay.
    delivery = [
        c
        for c in first_callbacks
        if c.__name__ not in ("dispatch_outbox_after_commit", "notify_live_streams")
    ]
    assert len(delivery) == 1 and second_callbacks == []
    assert Message.objects.filter(direction="outbound").count() == 1


def test_the_same_key_with_another_body_is_409(api, conversation):
    api.post("/messages", _send_body(conversation), HTTP_IDEMPOTENCY_KEY="k")
    other = {"conversationId": conversation.public_id, "content": {"type": "text", "text": "Bye"}}
    status, body = api.post("/messages", other, HTTP_IDEMPOTENCY_KEY="k")
    assert status == 409
    assert body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_errors_are_replayed_too_but_keys_are_per_workspace(api, stranger_api, conversation):
    bad = {"conversationId": conversation.public_id, "content": {"type": "nope"}}
    assert api.post("/messages", bad, HTTP_IDEMPOTENCY_KEY="e")[0] == 400
    assert api.post("/messages", bad, HTTP_IDEMPOTENCY_KEY="e")[0] == 400
    assert api.last["Idempotent-Replayed"] == "true"
    # The stranger's key space is its own: same key, its own (404) answer.
    status, body = stranger_api.post("/messages", bad, HTTP_IDEMPOTENCY_KEY="e")
    assert (status, body["error"]["code"]) == (404, "CONVERSATION_NOT_FOUND")


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_message(workspace, channel):
    from messaging.services import receive_message

    conversation = receive_message(
        channel=channel, sender="+5511999999999", content=TEXT
    ).message.conversation
    _, raw = create_api_key(workspace=workspace, name="race")
    body = _send_body(conversation)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(Api(raw).post("/messages", body, HTTP_IDEMPOTENCY_KEY="race-1")[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Message.objects.filter(direction="outbound").count() == 1
    # One ran; the others were told it was in progress or got its replay.
    assert results.count(201) >= 1
    assert set(results) <= {201, 409}


def test_an_oversized_json_body_is_413_in_the_envelope(api, conversation, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {
        "conversationId": conversation.public_id,
        "content": {"type": "text", "text": "x" * 2000},
    }
    status, answer = api.post("/messages", body)
    assert (status, answer["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
