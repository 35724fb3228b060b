"""The API channel's sends, edits, deletes and reactions, against a real local endpoint.

`httpserver` plays the integrator's callback URL: every test looks at the
exact request it received (body, headers, signature checked with the secret)
and answers the way an integrator would.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from inbox.services import create_api_key
from messaging.models import Message
from messaging.services import deliver_message, send_message
from messaging.services.messages import delete_message, edit_message, receive_message
from messaging.services.reactions import react_to_message
from messaging.webhooks.signing import verify_signature
from tests.messaging.api.conftest import Api

SECRET = "cb-secret-for-tests"
TO = "crm-contact-42"
TEXT = {"type": "text", "text": "Your order has shipped."}

ALL_CONTENT = [
    TEXT,
    {"type": "image", "url": "https://cdn.example.com/a.jpg", "caption": "Receipt"},
    {"type": "video", "url": "https://cdn.example.com/a.mp4", "caption": "How to"},
    {"type": "audio", "url": "https://cdn.example.com/a.ogg"},
    {"type": "document", "url": "https://cdn.example.com/a.pdf", "filename": "invoice.pdf"},
    {"type": "location", "latitude": -23.56, "longitude": -46.64, "name": "Shop"},
    {
        "type": "buttons",
        "text": "Pick one",
        "buttons": [
            {"type": "reply", "id": "yes", "title": "Yes"},
            {"type": "url", "title": "Track", "url": "https://example.com/t"},
        ],
    },
    {"type": "template", "template": {"name": "order_update", "language": "en"}},
]


@pytest.fixture
def api_channel(provider_channel, httpserver):
    return provider_channel(
        "api",
        {"callbackUrl": httpserver.url_for("/hooks/inbox"), "callbackSecret": SECRET},
    )


def _send(workspace, channel, content=TEXT, **kwargs) -> Message:
    """Queue a message and run one delivery attempt (the service, not the retrying task)."""
    message = send_message(workspace=workspace, channel=channel, to=TO, content=content, **kwargs)
    deliver_message(message_pk=message.pk)
    message.refresh_from_db()
    return message


def _only_request(httpserver):
    [(request, _response)] = httpserver.log
    return request


def _assert_signed(request) -> None:
    timestamp = int(request.headers["X-Inbox-Timestamp"])
    assert abs(time.time() - timestamp) < 60
    assert verify_signature(
        SECRET,
        timestamp,
        request.get_data(),
        request.headers["X-Inbox-Signature"],
        now=int(time.time()),
    )


def test_a_send_posts_the_signed_message_and_records_their_id(
    workspace, api_channel, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/inbox", method="POST").respond_with_json({"id": "crm-981"})
    with django_capture_on_commit_callbacks(execute=True):
        message = send_message(
            workspace=workspace,
            channel=api_channel,
            to=TO,
            content=TEXT,
            metadata={"orderId": "A-1"},
        )

    request = _only_request(httpserver)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Inbox-Event"] == "message.send"
    assert request.headers["Idempotency-Key"] == message.public_id
    _assert_signed(request)
    body = json.loads(request.get_data())
    assert body == {
        "event": "message.send",
        "id": message.public_id,
        "channelId": api_channel.public_id,
        "to": TO,
        "content": TEXT,
        "metadata": {"orderId": "A-1"},
        "replyToExternalId": None,
        "timestamp": body["timestamp"],
    }
    assert body["timestamp"].endswith("Z")
    # The secret signs; it never travels.
    assert SECRET not in request.get_data().decode() + json.dumps(dict(request.headers))

    message.refresh_from_db()
    assert message.status == "sent"
    assert message.provider_message_id == "crm-981"
    assert [h["status"] for h in message.status_history] == ["pending", "sent"]


def test_the_api_shows_their_id_as_external_id(workspace, api_channel, httpserver):
    httpserver.expect_request("/hooks/inbox").respond_with_json({"id": 5512})
    message = _send(workspace, api_channel)
    api = Api(create_api_key(workspace=workspace, name="tests")[1])
    status, body = api.get(f"/messages/{message.public_id}")
    assert status == 200, body
    assert body["data"]["attributes"]["externalId"] == "5512"


@pytest.mark.parametrize("content", ALL_CONTENT, ids=lambda c: c["type"])
def test_every_content_type_is_carried_as_is(workspace, api_channel, httpserver, content):
    httpserver.expect_request("/hooks/inbox").respond_with_json({"id": "x"})
    message = _send(workspace, api_channel, content)
    body = json.loads(_only_request(httpserver).get_data())
    assert body["content"] == content
    assert message.status == "sent"


def test_a_2xx_without_an_id_uses_our_message_id(workspace, api_channel, httpserver):
    httpserver.expect_request("/hooks/inbox").respond_with_data("", status=204)
    message = _send(workspace, api_channel)
    assert message.status == "sent"
    assert message.provider_message_id == message.public_id


def test_a_reply_names_the_message_it_answers(workspace, api_channel, httpserver):
    inbound = receive_message(
        channel=api_channel,
        sender=TO,
        content={"type": "text", "text": "Where is my order?"},
        provider_message_id="crm-in-7",
    ).message
    httpserver.expect_request("/hooks/inbox").respond_with_json({"id": "crm-8"})
    _send(workspace, api_channel, reply_to=inbound)
    assert json.loads(_only_request(httpserver).get_data())["replyToExternalId"] == "crm-in-7"


def test_without_a_secret_the_send_is_unsigned(workspace, provider_channel, httpserver):
    channel = provider_channel("api", {"callbackUrl": httpserver.url_for("/hooks/inbox")})
    httpserver.expect_request("/hooks/inbox").respond_with_json({"id": "u-1"})
    assert _send(workspace, channel).status == "sent"
    request = _only_request(httpserver)
    assert "X-Inbox-Signature" not in request.headers
    assert request.headers["Idempotency-Key"]


# --- Failures ---------------------------------------------------------------------


def test_a_5xx_is_retried_later(workspace, api_channel, httpserver):
    httpserver.expect_request("/hooks/inbox").respond_with_data("down", status=500)
    before = timezone.now()
    message = _send(workspace, api_channel)
    assert message.status == "pending"
    assert message.failure_code == "CALLBACK_500"
    assert message.failure_reason == "down"
    assert message.delivery_claimed_at is None
    # First attempt: 30 s of backoff.
    assert before + timedelta(seconds=29) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=31)


def test_a_429_is_retried_after_its_retry_after(workspace, api_channel, httpserver):
    httpserver.expect_request("/hooks/inbox").respond_with_json(
        {"error": {"message": "Slow down"}}, status=429, headers={"Retry-After": "120"}
    )
    before = timezone.now()
    message = _send(workspace, api_channel)
    assert message.status == "pending"
    assert (message.failure_code, message.failure_reason) == ("CALLBACK_429", "Slow down")
    assert before + timedelta(seconds=119) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=121)


def test_a_4xx_fails_with_the_integrators_reason(workspace, api_channel, httpserver):
    httpserver.expect_request("/hooks/inbox").respond_with_json(
        {"error": {"code": "unknown_recipient", "message": "No customer crm-contact-42"}},
        status=422,
    )
    message = _send(workspace, api_channel)
    assert message.status == "failed"
    assert message.failure_code == "CALLBACK_422"
    assert message.failure_reason == "No customer crm-contact-42"
    assert [h["status"] for h in message.status_history] == ["pending", "failed"]


def test_a_4xx_with_a_plain_body_uses_the_body_as_reason(workspace, api_channel, httpserver):
    httpserver.expect_request("/hooks/inbox").respond_with_data("bad recipient", status=400)
    message = _send(workspace, api_channel)
    assert (message.status, message.failure_code) == ("failed", "CALLBACK_400")
    assert message.failure_reason == "bad recipient"


def test_a_redirect_is_not_followed(workspace, api_channel, httpserver):
    httpserver.expect_request("/hooks/inbox").respond_with_response(
        Response(status=302, headers={"Location": httpserver.url_for("/elsewhere")})
    )
    message = _send(workspace, api_channel)
    assert (message.status, message.failure_code) == ("failed", "CALLBACK_302")
    assert "redirect" in message.failure_reason
    assert len(httpserver.log) == 1


def test_nobody_listening_is_retried(workspace, provider_channel):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = provider_channel(
        "api", {"callbackUrl": f"http://127.0.0.1:{port}/hooks", "callbackSecret": SECRET}
    )
    message = _send(workspace, channel)
    assert message.status == "pending"
    assert message.failure_code == "CALLBACK_UNREACHABLE"
    assert message.next_attempt_at is not None


def test_a_slow_endpoint_times_out_and_is_retried(workspace, api_channel, httpserver, settings):
    settings.PROVIDER_HTTP_TIMEOUT_SECONDS = 0.3

    def slow(request):
        time.sleep(1)
        return Response('{"id": "late"}', content_type="application/json")

    httpserver.expect_request("/hooks/inbox").respond_with_handler(slow)
    message = _send(workspace, api_channel)
    assert message.status == "pending"
    assert message.failure_code == "CALLBACK_UNREACHABLE"
    assert "0.3" in message.failure_reason


def test_a_private_callback_url_is_refused_when_the_guard_is_on(
    workspace, api_channel, httpserver, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    message = _send(workspace, api_channel)
    assert (message.status, message.failure_code) == ("failed", "CALLBACK_URL_REFUSED")
    assert "address" in message.failure_reason
    assert httpserver.log == []


# --- Edits, deletes and reactions ---------------------------------------------------


@pytest.fixture
def sent_message(workspace, api_channel, httpserver) -> Message:
    httpserver.expect_oneshot_request("/hooks/inbox").respond_with_json({"id": "crm-55"})
    message = _send(workspace, api_channel)
    assert message.provider_message_id == "crm-55"
    httpserver.clear_log()
    return message


def test_an_edit_is_posted_as_message_edit(
    sent_message, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/inbox").respond_with_json({"ok": True})
    new = {"type": "text", "text": "Your order ships tomorrow."}
    with django_capture_on_commit_callbacks(execute=True):
        edit_message(message=sent_message, content=new)
    request = _only_request(httpserver)
    assert request.headers["X-Inbox-Event"] == "message.edit"
    _assert_signed(request)
    body = json.loads(request.get_data())
    assert body["event"] == "message.edit"
    assert (body["id"], body["externalId"], body["to"]) == (sent_message.public_id, "crm-55", TO)
    assert body["content"] == new


def test_a_delete_for_everyone_is_posted_as_message_delete(
    sent_message, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/inbox").respond_with_data("", status=204)
    with django_capture_on_commit_callbacks(execute=True):
        delete_message(message=sent_message, for_everyone=True)
    request = _only_request(httpserver)
    _assert_signed(request)
    body = json.loads(request.get_data())
    assert (body["event"], body["externalId"]) == ("message.delete", "crm-55")
    sent_message.refresh_from_db()
    assert "providerSyncError" not in sent_message.metadata


def test_a_refused_edit_is_recorded_on_the_message(
    sent_message, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/inbox").respond_with_json(
        {"error": {"message": "Too old to edit"}}, status=409
    )
    with django_capture_on_commit_callbacks(execute=True):
        edit_message(message=sent_message, content={"type": "text", "text": "v2"})
    sent_message.refresh_from_db()
    assert sent_message.metadata["providerSyncError"] == {
        "change": "edit",
        "code": "CALLBACK_409",
        "message": "Too old to edit",
    }


def test_an_agents_reaction_is_posted_as_message_react(
    sent_message, agent, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/inbox").respond_with_json({"ok": True})
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=sent_message, reaction="👍", actor_user=agent)
    with django_capture_on_commit_callbacks(execute=True):
        react_to_message(message=sent_message, reaction="👍", actor_user=agent, operation="remove")
    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert [(b["event"], b["emoji"], b["operation"]) for b in bodies] == [
        ("message.react", "👍", "add"),
        ("message.react", "👍", "remove"),
    ]
    assert {b["externalId"] for b in bodies} == {"crm-55"}
    _assert_signed(httpserver.log[0][0])
