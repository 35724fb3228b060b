"""The Channels API: list, detail, create, update, delete, activate/deactivate, scopes, budgets."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_app.capabilities import MASK
from channels_app.links import channel_webhook_path
from channels_app.models import Channel
from inbox.api.principal import Principal
from inbox.services import create_api_key
from messaging.models import Conversation, Message, OutboxEvent
from messaging.services import receive_message
from tests.messaging.api.conftest import Api

TOKEN = "EAAG-whatsapp-access-token-secret"
WHATSAPP = {"name": "WhatsApp Sales", "type": "whatsapp"}
WA_CONFIG = {"phoneNumberId": "109876543210", "accessToken": TOKEN, "appSecret": "app-secret-x"}


@pytest.fixture
def capi(workspace) -> Api:
    return Api(create_api_key(workspace=workspace, name="tests")[1])


def _key(workspace, scopes) -> Api:
    return Api(create_api_key(workspace=workspace, name="scoped", scopes=scopes)[1])


def _principal_api(workspace, user, role) -> Api:
    """A client acting as an agent's access token with `role` (built by the auth layer)."""
    api = Api(None)
    api.client.force_authenticate(
        user=user,
        token=Principal(workspace=workspace, user=user, role=role, scopes=frozenset({"*"})),
    )
    return api


def _create(capi, **extra):
    body = {**WHATSAPP, "config": dict(WA_CONFIG), **extra}
    return capi.post("/channels", body)


# --- GET /channels/:id ---------------------------------------------------------------


def test_detail_shape(capi, workspace, conversation):
    channel = conversation.channel
    status, body = capi.get(f"/channels/{channel.public_id}")
    assert status == 200
    data = body["data"]
    assert (data["id"], data["type"]) == (channel.public_id, "channel")
    attrs = data["attributes"]
    assert attrs["name"] == channel.name
    assert attrs["channelType"] == "whatsapp"
    assert attrs["status"] == "active"
    assert attrs["statusReason"] is None
    assert attrs["config"] == {"sandbox": True, "phoneNumber": "+15550001111"}
    assert attrs["webhookUrl"] == f"{settings.SITE_URL}/webhooks/channels/{channel.inbound_token}/"
    assert attrs["webhookUrl"].endswith(channel_webhook_path(channel))
    assert attrs["capabilities"]["text"] is True
    assert attrs["capabilities"]["messageWindowHours"] == 24
    assert attrs["capabilities"]["deleteForEveryone"] is False
    assert attrs["health"]["status"] == "healthy"
    assert attrs["health"]["lastError"] is None
    assert attrs["health"]["lastReceivedAt"].endswith("Z")
    assert attrs["health"]["lastSentAt"] is None
    assert attrs["health"]["failedLast24h"] == 0
    assert attrs["stats"] == {"period": "24h", "sent": 0, "received": 1, "failed": 0}
    assert attrs["createdAt"].endswith("Z") and attrs["updatedAt"].endswith("Z")


def test_capabilities_follow_the_type(capi, workspace, make_channel):
    telegram = make_channel(workspace, "telegram")
    caps = capi.get(f"/channels/{telegram.public_id}")[1]["data"]["attributes"]["capabilities"]
    assert caps["template"] is False and caps["location"] is True
    assert caps["deleteForEveryone"] is True
    assert caps["deleteWindowSeconds"] == caps["editWindowSeconds"] == 48 * 3600
    assert caps["editMessages"] is True
    assert caps["messageWindowHours"] is None
    assert caps["deliveryReceipts"] is False and caps["readReceipts"] is False
    assert caps["reactions"] is True


def test_health_reports_failures_and_errors(capi, workspace, channel, conversation):
    inbound = conversation.messages.get()
    Message.objects.filter(pk=inbound.pk).update(direction="outbound", status="failed")
    attrs = capi.get(f"/channels/{channel.public_id}")[1]["data"]["attributes"]
    assert attrs["health"]["status"] == "degraded"
    assert attrs["health"]["failedLast24h"] == attrs["stats"]["failed"] == 1

    Channel.objects.filter(pk=channel.pk).update(status="error", status_reason="Token expired")
    attrs = capi.get(f"/channels/{channel.public_id}")[1]["data"]["attributes"]
    assert attrs["health"]["status"] == "error"
    assert attrs["health"]["lastError"] == attrs["statusReason"] == "Token expired"


def test_unknown_channel_is_404(capi, db):
    status, body = capi.get("/channels/ch_doesnotexist0000000000")
    assert (status, body["error"]["code"]) == (404, "CHANNEL_NOT_FOUND")


# --- GET /channels ---------------------------------------------------------------------


def test_list_filters_search_and_pagination(capi, workspace, make_channel):
    wa = make_channel(workspace, "whatsapp", name="WhatsApp Support")
    sms = make_channel(workspace, "sms", name="SMS alerts", status="inactive")
    tg = make_channel(workspace, "telegram", name="Support bot", status="error")

    def ids(params=None):
        status, body = capi.get("/channels", params)
        assert status == 200, body
        return {d["id"] for d in body["data"]}

    assert ids() == {wa.public_id, sms.public_id, tg.public_id}
    assert ids({"type": "sms"}) == {sms.public_id}
    assert ids({"status": "error"}) == {tg.public_id}
    assert ids({"status": "active", "type": "whatsapp"}) == {wa.public_id}
    assert ids({"search": "support"}) == {wa.public_id, tg.public_id}
    assert ids({"status": "pending"}) == set()

    by_name = capi.get("/channels", {"sortBy": "name", "sortOrder": "asc"})[1]["data"]
    assert [d["attributes"]["name"] for d in by_name] == [
        "SMS alerts",
        "Support bot",
        "WhatsApp Support",
    ]
    status, body = capi.get("/channels", {"perPage": 2, "page": 2})
    assert status == 200
    assert len(body["data"]) == 1
    assert body["meta"]["pagination"]["totalCount"] == 3
    assert body["meta"]["pagination"]["hasPrevPage"] is True
    # Every row carries health and stats.
    assert {"health", "stats", "capabilities"} <= set(body["data"][0]["attributes"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "broken"}, "status"),
        ({"type": "pigeon"}, "type"),
        ({"sortBy": "secret"}, "sortBy"),
        ({"perPage": 101}, "perPage"),
        ({"page": "x"}, "page"),
    ],
)
def test_list_refuses_bad_parameters(capi, db, params, field):
    status, body = capi.get("/channels", params)
    assert status == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"][0]["field"] == field


def _queries(api, path, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        status, _ = api.get(path, params)
    assert status == 200
    return len(ctx.captured_queries)


@pytest.fixture
def many_channels(workspace, make_channel):
    """101 channels, each with traffic, to catch any per-row query."""
    channels = [make_channel(workspace, "sms", name=f"Line {i:03}") for i in range(101)]
    for i, channel in enumerate(channels):
        receive_message(
            channel=channel, sender=f"+551198888{i:04}", content={"type": "text", "text": "hi"}
        )
    return channels


def test_list_and_detail_run_a_constant_number_of_queries(capi, many_channels):
    capi.get("/channels")  # warm the key's last_used_at write
    one = _queries(capi, "/channels", {"perPage": 1})
    hundred = _queries(capi, "/channels", {"perPage": 100})
    # 1 API key, 1 COUNT, 1 page of channels, 1 grouped messages aggregate
    # (health and 24-hour stats of every channel on the page).
    assert one == hundred == 4
    # 1 API key, 1 channel, 1 grouped messages aggregate.
    assert _queries(capi, f"/channels/{many_channels[0].public_id}") == 3
    # The aggregate's counts land on their own rows.
    rows = capi.get("/channels", {"perPage": 100})[1]["data"]
    assert len(rows) == 100
    assert all(r["attributes"]["stats"]["received"] == 1 for r in rows)


# --- POST /channels ---------------------------------------------------------------------


def test_create_answers_201_with_secrets_masked(capi, workspace):
    status, body = _create(capi, metadata={"team": "sales"})
    assert status == 201, body
    attrs = body["data"]["attributes"]
    assert attrs["config"] == {
        "phoneNumberId": "109876543210",
        "accessToken": MASK,
        "appSecret": MASK,
    }
    assert attrs["metadata"] == {"team": "sales"}
    assert attrs["status"] == "pending"
    assert attrs["health"]["status"] == "pending"
    assert TOKEN not in capi.last.content.decode()
    channel = Channel.objects.get(public_id=body["data"]["id"])
    assert channel.workspace == workspace
    assert channel.config["accessToken"] == TOKEN
    assert OutboxEvent.objects.filter(event="channel.created").count() == 1


def test_a_sandbox_channel_is_active_at_once(capi, db):
    status, body = capi.post(
        "/channels", {"name": "Demo", "type": "sms", "config": {"sandbox": True}}
    )
    assert (status, body["data"]["attributes"]["status"]) == (201, "active")


def test_create_errors(capi, db):
    status, body = capi.post("/channels", {"name": "X", "type": "pigeon"})
    assert (status, body["error"]["code"]) == (400, "INVALID_CHANNEL_TYPE")
    assert body["error"]["details"][0]["field"] == "type"

    status, body = capi.post("/channels", {**WHATSAPP, "config": {"phoneNumberId": "1"}})
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == "config.accessToken"

    for payload, field in (
        ({"type": "api"}, "name"),
        ({"name": "X"}, "type"),
        ({"name": "X", "type": "api", "config": "x"}, "config"),
        ({"name": "X", "type": "api", "metadata": [1]}, "metadata"),
        ({"name": "X", "type": "api", "status": "active"}, "status"),
        ({"name": "x" * 201, "type": "api"}, "name"),
    ):
        status, body = capi.post("/channels", payload)
        assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR"), payload
        assert body["error"]["details"][0]["field"] == field, payload

    status, body = capi.post("/channels", "{not json", content_type="application/json")
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert not Channel.objects.exists()


def test_a_second_channel_for_the_same_number_is_409(capi, db):
    assert _create(capi)[0] == 201
    status, body = _create(capi, name="Again")
    assert (status, body["error"]["code"]) == (409, "CHANNEL_ALREADY_EXISTS")
    assert TOKEN not in json.dumps(body)
    assert Channel.objects.count() == 1


def test_create_is_idempotent(capi, db):
    first = capi.post("/channels", {**WHATSAPP, "config": WA_CONFIG}, HTTP_IDEMPOTENCY_KEY="k-1")
    again = capi.post("/channels", {**WHATSAPP, "config": WA_CONFIG}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first[0] == again[0] == 201
    assert first[1]["data"]["id"] == again[1]["data"]["id"]
    assert Channel.objects.count() == 1


# --- PATCH /channels/:id ------------------------------------------------------------------


def test_patch_merges_config_and_keeps_masked_secrets(capi, db):
    channel_id = _create(capi)[1]["data"]["id"]
    read_back = capi.get(f"/channels/{channel_id}")[1]["data"]["attributes"]["config"]
    status, body = capi.patch(
        f"/channels/{channel_id}",
        {
            "name": "Renamed",
            "config": {**read_back, "appSecret": None, "businessAccountId": "42"},
            "metadata": {"a": 1},
        },
    )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["name"] == "Renamed"
    assert attrs["config"] == {
        "phoneNumberId": "109876543210",
        "accessToken": MASK,
        "businessAccountId": "42",
    }
    assert attrs["metadata"] == {"a": 1}
    stored = Channel.objects.get(public_id=channel_id).config
    assert stored["accessToken"] == TOKEN and "appSecret" not in stored


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"name": ""}, "name"),
        ({"config": {"accessToken": None}}, "config.accessToken"),
        ({"config": []}, "config"),
        ({"metadata": "x"}, "metadata"),
        ({"type": "sms"}, "type"),
    ],
)
def test_patch_errors_change_nothing(capi, db, payload, field):
    channel_id = _create(capi)[1]["data"]["id"]
    before = Channel.objects.values().get(public_id=channel_id)
    status, body = capi.patch(f"/channels/{channel_id}", payload)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == field
    assert Channel.objects.values().get(public_id=channel_id) == before


# --- DELETE /channels/:id -------------------------------------------------------------------


def test_delete_refuses_active_conversations_unless_forced(capi, conversation):
    channel = conversation.channel
    status, body = capi.delete(f"/channels/{channel.public_id}")
    assert (status, body["error"]["code"]) == (400, "ACTIVE_CONVERSATIONS_EXIST")
    assert Channel.objects.filter(pk=channel.pk).exists()

    status, body = capi.delete(f"/channels/{channel.public_id}", {"force": "maybe"})
    assert (status, body["error"]["details"][0]["field"]) == (400, "force")

    status, body = capi.delete(f"/channels/{channel.public_id}", {"force": "true"})
    assert (status, body) == (204, None)
    assert not Channel.objects.filter(pk=channel.pk).exists()
    assert not Conversation.objects.exists()
    assert OutboxEvent.objects.filter(event="channel.deleted").count() == 1
    assert capi.get(f"/channels/{channel.public_id}")[0] == 404


def test_delete_a_quiet_channel(capi, channel):
    assert capi.delete(f"/channels/{channel.public_id}")[0] == 204
    assert not Channel.objects.exists()


# --- activate / deactivate -----------------------------------------------------------------


def test_activate_and_deactivate(capi, conversation):
    channel = conversation.channel
    status, body = capi.post(
        f"/channels/{channel.public_id}/deactivate",
        {"reason": "Moving providers", "closeConversations": True},
    )
    assert status == 200, body
    assert body["data"]["attributes"]["status"] == "inactive"
    assert body["data"]["attributes"]["statusReason"] == "Moving providers"
    assert body["meta"]["closedConversations"] == 1
    conversation.refresh_from_db()
    assert (conversation.status, conversation.resolution) == ("closed", "unresolved")
    assert OutboxEvent.objects.filter(event="channel.deactivated").count() == 1

    status, body = capi.post(f"/channels/{channel.public_id}/activate", {"reason": "Back"})
    assert status == 200
    attrs = body["data"]["attributes"]
    assert (attrs["status"], attrs["statusReason"]) == ("active", "Back")
    assert attrs["health"]["lastError"] is None  # an activation reason is not an error
    assert OutboxEvent.objects.filter(event="channel.activated").count() == 1


def test_a_pending_channel_can_be_activated_without_a_body(capi, db):
    channel_id = _create(capi)[1]["data"]["id"]
    status, body = capi.post(f"/channels/{channel_id}/activate")
    assert (status, body["data"]["attributes"]["status"]) == (200, "active")


def test_deactivate_without_closing_leaves_conversations(capi, conversation):
    status, body = capi.post(f"/channels/{conversation.channel.public_id}/deactivate")
    assert (status, body["meta"]["closedConversations"]) == (200, 0)
    conversation.refresh_from_db()
    assert conversation.status == "open"


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("deactivate", {"closeConversations": "perhaps"}, "closeConversations"),
        ("deactivate", {"reason": "x" * 501}, "reason"),
        ("activate", {"closeConversations": True}, "closeConversations"),
    ],
)
def test_status_changes_validate_their_body(capi, channel, action, payload, field):
    status, body = capi.post(f"/channels/{channel.public_id}/{action}", payload)
    assert (status, body["error"]["details"][0]["field"]) == (400, field)
    channel.refresh_from_db()
    assert channel.status == "active"


# --- scopes and roles ----------------------------------------------------------------------


def test_scopes(workspace, channel):
    reader = _key(workspace, ["channels:read"])
    assert reader.get("/channels")[0] == 200
    assert reader.get(f"/channels/{channel.public_id}/stats")[0] == 200
    for method, path, data in (
        ("post", "/channels", {**WHATSAPP, "config": WA_CONFIG}),
        ("patch", f"/channels/{channel.public_id}", {"name": "x"}),
        ("delete", f"/channels/{channel.public_id}", None),
        ("post", f"/channels/{channel.public_id}/test", None),
        ("post", f"/channels/{channel.public_id}/deactivate", None),
        ("post", f"/channels/{channel.public_id}/activate", None),
    ):
        status, body = getattr(reader, method)(path, data)
        assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS"), path
    outsider = _key(workspace, ["messages:read", "messages:write"])
    assert outsider.get("/channels")[0] == 403
    assert outsider.get(f"/channels/{channel.public_id}")[0] == 403
    channel.refresh_from_db()
    assert (channel.name, channel.status) == ("whatsapp line", "active")


def test_anonymous_is_401(anonymous_client_api, channel):
    status, body = anonymous_client_api.get("/channels")
    assert (status, body["error"]["code"]) == (401, "AUTHENTICATION_REQUIRED")


@pytest.fixture
def anonymous_client_api() -> Api:
    return Api(None)


def test_agents_read_but_only_admins_write(workspace, channel, agent, admin_user):
    as_agent = _principal_api(workspace, agent, "agent")
    assert as_agent.get("/channels")[0] == 200
    assert as_agent.get(f"/channels/{channel.public_id}")[0] == 200
    for method, path, data in (
        ("post", "/channels", {**WHATSAPP, "config": WA_CONFIG}),
        ("patch", f"/channels/{channel.public_id}", {"name": "x"}),
        ("delete", f"/channels/{channel.public_id}", None),
        ("post", f"/channels/{channel.public_id}/deactivate", None),
    ):
        status, body = getattr(as_agent, method)(path, data)
        assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS"), path
    assert Channel.objects.count() == 1

    as_admin = _principal_api(workspace, admin_user, "admin")
    status, body = as_admin.post("/channels", {**WHATSAPP, "config": WA_CONFIG})
    assert status == 201, body
    status, body = as_admin.post(
        f"/channels/{channel.public_id}/deactivate", {"closeConversations": True}
    )
    assert status == 200


# --- secrets stay on the server ---------------------------------------------------------------


def test_secrets_never_reach_responses_or_logs(capi, caplog):
    caplog.set_level(logging.DEBUG)
    channel_id = _create(capi)[1]["data"]["id"]
    capi.patch(f"/channels/{channel_id}", {"config": {"accessToken": TOKEN + "-rotated"}})
    capi.post(f"/channels/{channel_id}/test")
    bodies = [capi.get(f"/channels/{channel_id}"), capi.get("/channels")]
    capi.post("/channels", {**WHATSAPP, "config": WA_CONFIG})  # 409
    capi.post("/channels", {"name": "t", "type": "telegram", "config": {"botToken": TOKEN}})  # 400
    text = json.dumps(bodies) + caplog.text
    assert TOKEN not in text
    assert "app-secret-x" not in text


def test_timestamps_are_utc(capi, channel):
    Channel.objects.filter(pk=channel.pk).update(created_at=timezone.now() - timedelta(days=3))
    attrs = capi.get(f"/channels/{channel.public_id}")[1]["data"]["attributes"]
    assert attrs["createdAt"].endswith("Z")


# --- OpenAPI --------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_schema(tmp_path, db):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    expected = {
        "/api/v1/channels": {"get", "post"},
        "/api/v1/channels/{channel_id}": {"get", "patch", "delete"},
        "/api/v1/channels/{channel_id}/test": {"post"},
        "/api/v1/channels/{channel_id}/activate": {"post"},
        "/api/v1/channels/{channel_id}/deactivate": {"post"},
        "/api/v1/channels/{channel_id}/stats": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(schema["paths"][path]), path
        for method in methods:
            assert schema["paths"][path][method]["tags"] == ["Channels"]
    text = yaml.safe_dump(schema)
    for code in (
        "CHANNEL_NOT_FOUND",
        "INVALID_CHANNEL_TYPE",
        "CHANNEL_ALREADY_EXISTS",
        "ACTIVE_CONVERSATIONS_EXIST",
    ):
        assert code in text, code
    attributes = schema["components"]["schemas"]["ChannelAttributes"]["properties"]
    assert {"config", "capabilities", "webhookUrl", "health", "stats"} <= set(attributes)
