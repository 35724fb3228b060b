"""POST /channels/:id/test and `check_channel` against a real local HTTP server.

The API channel's check POSTs a signed `test.ping` to its `callbackUrl`; these
tests run a real `http.server` on 127.0.0.1 (port 0) and look at what it got.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from channels_app.models import Channel
from channels_app.services import check_channel, create_channel
from inbox.services import create_api_key
from messaging.models import OutboxEvent
from messaging.webhooks.signing import verify_signature
from tests.messaging.api.conftest import Api

SECRET = "cb-signing-secret"


class CallbackServer:
    """A local endpoint that records each request and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/inbox"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def callback_server():
    server = CallbackServer()
    yield server
    server.close()


@pytest.fixture
def capi(workspace) -> Api:
    return Api(create_api_key(workspace=workspace, name="tests")[1])


@pytest.fixture
def api_channel(workspace, callback_server) -> Channel:
    return create_channel(
        workspace=workspace,
        type="api",
        name="CRM",
        config={"callbackUrl": callback_server.url, "callbackSecret": SECRET},
    )


def _events(name: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event=name))


def test_a_2xx_answer_is_success_and_activates_the_pending_channel(api_channel, callback_server):
    assert api_channel.status == Channel.Status.PENDING
    result = check_channel(channel=api_channel)
    assert result.ok and result.error == ""
    assert isinstance(result.latency_ms, int) and result.latency_ms >= 0

    [request] = callback_server.requests
    assert request["path"] == "/hooks/inbox"
    body = json.loads(request["body"])
    assert body["event"] == "test.ping"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    timestamp = int(headers["x-inbox-timestamp"])
    assert verify_signature(
        SECRET, timestamp, request["body"], headers["x-inbox-signature"], now=int(time.time())
    )
    # The secret itself never travels.
    assert SECRET not in json.dumps(request["headers"]) + request["body"].decode()

    api_channel.refresh_from_db()
    assert api_channel.status == Channel.Status.ACTIVE
    assert len(_events("channel.activated")) == 1


def test_without_a_secret_the_ping_is_unsigned(workspace, callback_server):
    channel = create_channel(
        workspace=workspace, type="api", name="CRM", config={"callbackUrl": callback_server.url}
    )
    assert check_channel(channel=channel).ok
    headers = {k.lower() for k in callback_server.requests[0]["headers"]}
    assert "x-inbox-signature" not in headers


def test_a_4xx_answer_puts_the_channel_in_error(api_channel, callback_server):
    callback_server.status = 401
    result = check_channel(channel=api_channel)
    assert not result.ok and result.rejected
    assert "401" in result.error
    api_channel.refresh_from_db()
    assert api_channel.status == Channel.Status.ERROR
    assert "401" in api_channel.status_reason
    [event] = _events("channel.error")
    assert event.data["id"] == api_channel.public_id


def test_a_5xx_answer_fails_without_blaming_the_config(api_channel, callback_server):
    callback_server.status = 503
    result = check_channel(channel=api_channel)
    assert not result.ok and not result.rejected
    api_channel.refresh_from_db()
    assert api_channel.status == Channel.Status.PENDING
    assert not _events("channel.error")


def test_nobody_listening_is_a_failure_not_a_500(api_channel, callback_server):
    callback_server.close()
    result = check_channel(channel=api_channel)
    assert not result.ok and not result.rejected
    assert result.error


def test_a_success_clears_an_error(api_channel, callback_server):
    callback_server.status = 403
    check_channel(channel=api_channel)
    callback_server.status = 204
    assert check_channel(channel=api_channel).ok
    api_channel.refresh_from_db()
    assert (api_channel.status, api_channel.status_reason) == (Channel.Status.ACTIVE, "")


def test_private_addresses_are_refused_when_the_ssrf_guard_is_on(
    api_channel, callback_server, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    result = check_channel(channel=api_channel)
    assert not result.ok and result.rejected
    assert "address" in result.error
    assert callback_server.requests == []
    api_channel.refresh_from_db()
    assert api_channel.status == Channel.Status.ERROR


def test_the_endpoint_reports_success_latency_and_status(capi, api_channel, callback_server):
    status, body = capi.post(f"/channels/{api_channel.public_id}/test")
    assert status == 200, body
    assert body["data"]["success"] is True
    assert isinstance(body["data"]["latency"], int)
    assert "error" not in body["data"]
    assert body["data"]["channelStatus"] == "active"
    assert len(callback_server.requests) == 1


def test_the_endpoint_reports_the_error(capi, api_channel, callback_server):
    callback_server.status = 404
    status, body = capi.post(f"/channels/{api_channel.public_id}/test")
    assert status == 200
    assert body["data"]["success"] is False
    assert "404" in body["data"]["error"]
    assert body["data"]["channelStatus"] == "error"
    detail = capi.get(f"/channels/{api_channel.public_id}")[1]["data"]["attributes"]
    assert detail["health"]["status"] == "error"
    assert "404" in detail["health"]["lastError"]


def test_the_endpoint_is_honest_about_an_unreachable_provider(capi, workspace):
    channel = create_channel(
        workspace=workspace,
        type="telegram",
        name="Bot",
        # Nothing listens on loopback port 9: the provider cannot be reached.
        config={"botToken": "123:ABCDEFGHIJKLM", "apiBaseUrl": "http://127.0.0.1:9"},
    )
    status, body = capi.post(f"/channels/{channel.public_id}/test")
    assert status == 200
    assert body["data"]["success"] is False
    assert "127.0.0.1" in body["data"]["error"]
    assert "ABCDEFGHIJKLM" not in body["data"]["error"]
    assert body["data"]["channelStatus"] == "pending"
