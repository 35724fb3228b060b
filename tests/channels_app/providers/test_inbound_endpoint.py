"""The channel webhook endpoint itself: routing, methods, limits, inactive channels.

Provider-specific verification and parsing are tested per provider under
tests/channels_app/providers/; these use the API channel, whose signature
scheme is our own.
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from channels_app.links import channel_webhook_path
from channels_app.models import Channel
from messaging.models import Contact, Message
from messaging.webhooks.signing import compute_signature

pytestmark = pytest.mark.django_db
SECRET = "endpoint-secret"


def _message_body(message_id: str = "ext-1") -> bytes:
    return json.dumps(
        {
            "type": "message",
            "id": message_id,
            "from": "crm-7",
            "content": {"type": "text", "text": "hello"},
        }
    ).encode()


def _post(channel: Channel, body: bytes, *, method: str = "POST", secret: str = SECRET):
    ts = int(time.time())
    return Client().generic(
        method,
        channel_webhook_path(channel),
        body,
        content_type="application/json",
        headers={
            "X-Inbox-Timestamp": str(ts),
            "X-Inbox-Signature": compute_signature(secret, ts, body),
        },
    )


@pytest.fixture
def api_channel(provider_channel):
    return provider_channel(
        "api", {"callbackUrl": "https://crm.example.com/in", "callbackSecret": SECRET}
    )


def test_an_unknown_token_is_404_in_the_envelope():
    response = Client().post("/webhooks/channels/nope/", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "CHANNEL_NOT_FOUND"


def test_a_sandbox_channel_takes_no_webhooks(make_channel, workspace):
    channel = make_channel(workspace, "whatsapp")
    response = _post(channel, _message_body())
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_other_methods_are_405_with_allow(api_channel):
    response = _post(api_channel, _message_body(), method="PUT")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


def test_a_get_without_a_handshake_is_refused(api_channel):
    response = Client().get(channel_webhook_path(api_channel))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "VERIFICATION_FAILED"


def test_an_oversized_body_is_413_and_records_nothing(api_channel, settings):
    settings.INBOUND_WEBHOOK_MAX_BYTES = 64
    response = _post(api_channel, _message_body() + b" " * 100)
    assert response.status_code == 413
    assert not Message.objects.exists()


def test_a_valid_event_is_applied_and_acknowledged(api_channel):
    response = _post(api_channel, _message_body())
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert Message.objects.get().text == "hello"


def test_an_inactive_channel_acknowledges_but_applies_nothing(api_channel):
    Channel.objects.filter(pk=api_channel.pk).update(status=Channel.Status.INACTIVE)
    response = _post(api_channel, _message_body())
    assert response.status_code == 200
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_an_inactive_channel_still_refuses_bad_signatures(api_channel):
    Channel.objects.filter(pk=api_channel.pk).update(status=Channel.Status.INACTIVE)
    assert _post(api_channel, _message_body(), secret="wrong").status_code == 401


def test_an_api_channel_without_callback_url_still_receives(provider_channel):
    # Sends go through the sandbox, but an integration may only write to us.
    channel = provider_channel("api", {"callbackSecret": SECRET})
    assert _post(channel, _message_body()).status_code == 200
    assert Message.objects.filter(channel=channel).count() == 1
    assert _post(channel, _message_body("ext-2"), secret="wrong").status_code == 401


def test_one_channels_token_never_reaches_another_workspaces_channel(
    api_channel, provider_channel, other_workspace
):
    other = Channel.objects.create(
        workspace=other_workspace,
        type="api",
        name="theirs",
        status=Channel.Status.ACTIVE,
        config={"callbackUrl": "https://x.example.com/", "callbackSecret": "theirs"},
    )
    # Signed with our secret, posted to their URL: refused, nothing recorded.
    assert _post(other, _message_body()).status_code == 401
    assert _post(api_channel, _message_body()).status_code == 200
    assert list(Message.objects.values_list("workspace_id", flat=True)) == [
        api_channel.workspace_id
    ]


def test_a_failure_while_applying_is_a_500_the_provider_will_retry(api_channel, monkeypatch):
    # Fault injection: the database failing mid-apply.
    def boom(**kwargs):
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr("channels_app.views.apply_inbound_events", boom)
    response = _post(api_channel, _message_body())
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "secret detail" not in response.content.decode()


def test_a_crash_in_a_provider_parser_is_a_500_envelope(api_channel, monkeypatch):
    from channels_app.providers.api.provider import ApiChannelProvider

    def crash(self, request, config):
        raise KeyError("secret detail")

    monkeypatch.setattr(ApiChannelProvider, "parse", crash)
    client = Client(raise_request_exception=False)
    ts = int(time.time())
    body = _message_body()
    response = client.post(
        channel_webhook_path(api_channel),
        body,
        content_type="application/json",
        headers={
            "X-Inbox-Timestamp": str(ts),
            "X-Inbox-Signature": compute_signature(SECRET, ts, body),
        },
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "secret detail" not in response.content.decode()
