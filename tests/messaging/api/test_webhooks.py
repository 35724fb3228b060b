"""/api/v1/webhooks: CRUD, the secret shown once, test sends, the delivery log, retries, stats.

Deliveries go to a real HTTP server on 127.0.0.1 (`Receiver`), so test sends
and retries exercise the wire. Also: isolation between workspaces on every
endpoint, scopes, agents' tokens, and pinned query counts for the lists.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox.api.principal import Principal
from inbox.services import create_api_key
from messaging.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from messaging.services import receive_message
from messaging.services.webhooks import create_webhook, dispatch_outbox
from tests.messaging.api.conftest import Api
from tests.messaging.test_webhook_delivery import Receiver, expected_signature


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _create(api, receiver, **overrides):
    body = {"url": receiver.url, "events": ["message.received"], **overrides}
    return api.post("/webhooks", body)


@pytest.fixture
def webhook(api, receiver) -> dict:
    status, body = _create(api, receiver, description="CRM sync")
    assert status == 201, body
    return body["data"]


def _deliveries(endpoint: WebhookEndpoint, statuses: list[str], event="message.received"):
    """Delivery rows in given states (fixture data for stats and filters)."""
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            workspace_id=endpoint.workspace_id,
            endpoint=endpoint,
            event=event,
            status=status,
            request_body="{}",
            attempts=1,
            response_status_code={"succeeded": 200, "failed": 500}.get(status),
        )
        for status in statuses
    )
    return rows


# --- Create, read, update, delete -------------------------------------------------------


def test_create_shows_the_secret_once(api, receiver):
    status, body = _create(
        api,
        receiver,
        events=["message.received", "conversation.closed"],
        description="CRM sync",
        headers={"Authorization": "Bearer crm-token"},
        config={"maxRetries": 2, "timeout": 5},
    )
    assert status == 201, body
    data = body["data"]
    assert data["id"].startswith("wh_") and data["type"] == "webhook"
    attrs = data["attributes"]
    secret = attrs["secret"]
    assert secret.startswith("whsec_") and len(secret) >= len("whsec_") + 32
    assert attrs["url"] == receiver.url
    assert attrs["events"] == ["message.received", "conversation.closed"]
    assert attrs["headers"] == {"Authorization": "Bearer crm-token"}
    assert attrs["status"] == "active"
    assert attrs["config"] == {"maxRetries": 2, "timeout": 5}
    assert attrs["stats"] == {
        "deliveriesTotal": 0,
        "deliveriesSucceeded": 0,
        "deliveriesFailed": 0,
        "deliveriesPending": 0,
        "successRate": None,
    }
    assert attrs["lastDelivery"] is None
    assert WebhookEndpoint.objects.get(public_id=data["id"]).secret == secret

    # Never again: not in the detail, the list, or an update.
    _, detail = api.get(f"/webhooks/{data['id']}")
    _, listing = api.get("/webhooks")
    _, patched = api.patch(f"/webhooks/{data['id']}", {"description": "renamed"})
    for text in (str(detail), str(listing), str(patched)):
        assert secret not in text and "secret" not in text


def test_defaults(api, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 7
    status, body = _create(api, receiver)
    assert status == 201
    assert body["data"]["attributes"]["config"] == {"maxRetries": 4, "timeout": 7}
    assert body["data"]["attributes"]["description"] == ""


def test_all_events_with_a_star(api, receiver):
    status, body = _create(api, receiver, events=["message.received", "*"])
    assert status == 201 and body["data"]["attributes"]["events"] == ["*"]


def test_unknown_events_are_400_invalid_events_naming_them(api, receiver):
    status, body = _create(api, receiver, events=["message.received", "message.exploded", "x"])
    assert status == 400
    assert body["error"]["code"] == "INVALID_EVENTS"
    assert body["error"]["message"].startswith("Unknown events: message.exploded, x.")
    assert body["error"]["details"][0]["field"] == "events"
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"events": []}, "events"),
        ({"events": "message.received"}, "events"),
        ({"url": ["https://a.example"]}, "url"),
        ({"headers": {"X-Inbox-Signature": "forged"}}, "headers.X-Inbox-Signature"),
        ({"headers": {"Host": "evil"}}, "headers.Host"),
        ({"headers": {"Bad Name": "v"}}, "headers.Bad Name"),
        ({"headers": {"X-Ok": "line\r\nbreak"}}, "headers.X-Ok"),
        ({"config": {"maxRetries": 11}}, "config.maxRetries"),
        ({"config": {"timeout": 0}}, "config.timeout"),
        ({"config": {"timeout": "soon"}}, "config.timeout"),
        ({"config": {"retries": 1}}, "config.retries"),
        ({"secret": "whsec_mine"}, "secret"),
        ({"description": "x" * 501}, "description"),
    ],
)
def test_bad_input_is_400_validation_error_naming_the_field(api, receiver, changes, field):
    status, body = _create(api, receiver, **changes)
    assert status == 400, body
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in body["error"]["details"]]
    assert WebhookEndpoint.objects.count() == 0


def test_malformed_json_is_400(api):
    status, body = api.post("/webhooks", "{not json")
    assert status == 400 and body["error"]["code"] == "VALIDATION_ERROR"


def test_a_bad_url_is_400_invalid_url(api):
    status, body = api.post("/webhooks", {"url": "ftp://example.com/x", "events": ["*"]})
    assert status == 400
    assert body["error"]["code"] == "INVALID_URL"
    assert body["error"]["details"][0]["field"] == "url"


def test_production_refuses_http_and_private_addresses(api, settings):
    settings.IS_PRODUCTION = True
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    for url in (
        "http://93.184.216.34/x",
        "https://127.0.0.1/x",
        "https://10.0.0.8/x",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
    ):
        status, body = api.post("/webhooks", {"url": url, "events": ["*"]})
        assert (status, body["error"]["code"]) == (400, "INVALID_URL"), url
    assert WebhookEndpoint.objects.count() == 0
    status, _ = api.post("/webhooks", {"url": "https://93.184.216.34/x", "events": ["*"]})
    assert status == 201


def test_get_patch_and_delete(api, receiver, webhook):
    path = f"/webhooks/{webhook['id']}"
    status, body = api.get(path)
    assert status == 200 and body["data"]["attributes"]["description"] == "CRM sync"

    status, body = api.patch(
        path,
        {
            "events": ["conversation.closed"],
            "status": "inactive",
            "headers": {"X-Team": "support"},
            "config": {"timeout": 3},
        },
    )
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["events"] == ["conversation.closed"]
    assert attrs["status"] == "inactive"
    assert attrs["headers"] == {"X-Team": "support"}
    assert attrs["config"] == {"maxRetries": 4, "timeout": 3}
    assert attrs["description"] == "CRM sync"  # untouched
    row = WebhookEndpoint.objects.get(public_id=webhook["id"])
    assert (row.status, row.timeout_seconds) == ("inactive", 3)

    status, body = api.patch(path, {"status": "paused"})
    assert status == 400 and body["error"]["details"][0]["field"] == "status"
    status, body = api.patch(path, {"events": ["nope"]})
    assert status == 400 and body["error"]["code"] == "INVALID_EVENTS"

    status, body = api.delete(path)
    assert status == 204
    assert not WebhookEndpoint.objects.filter(public_id=webhook["id"]).exists()
    status, body = api.get(path)
    assert (status, body["error"]["code"]) == (404, "WEBHOOK_NOT_FOUND")


def test_rotating_the_secret_shows_the_new_one_once(api, webhook):
    old = webhook["attributes"]["secret"]
    status, body = api.patch(f"/webhooks/{webhook['id']}", {"rotateSecret": True})
    assert status == 200
    new = body["data"]["attributes"]["secret"]
    assert new.startswith("whsec_") and new != old
    assert WebhookEndpoint.objects.get(public_id=webhook["id"]).secret == new


# --- Test sends, deliveries, retries ---------------------------------------------------------


def test_test_sends_a_signed_ping_now(api, receiver, webhook):
    status, body = api.post(f"/webhooks/{webhook['id']}/test")
    assert status == 200, body
    result = body["data"]
    assert result["status"] == "succeeded" and result["statusCode"] == 200
    assert result["deliveryId"].startswith("del_")
    assert isinstance(result["latency"], int)
    request = receiver.requests[-1]
    headers = request["headers"]
    assert headers["X-Inbox-Event"] == "test.ping"
    assert headers["X-Inbox-Delivery-Id"] == result["deliveryId"]
    assert headers["X-Inbox-Signature"] == expected_signature(
        webhook["attributes"]["secret"], headers["X-Inbox-Timestamp"], request["body"]
    )
    assert receiver.json()["meta"]["webhookId"] == webhook["id"]


def test_test_with_another_event_and_a_failing_endpoint(api, receiver, webhook):
    receiver.answers = [503]
    status, body = api.post(f"/webhooks/{webhook['id']}/test", {"event": "conversation.closed"})
    assert status == 200
    assert body["data"]["status"] == "failed" and body["data"]["statusCode"] == 503
    assert receiver.json()["event"] == "conversation.closed"
    status, body = api.post(f"/webhooks/{webhook['id']}/test", {"event": "bogus"})
    assert (status, body["error"]["code"]) == (400, "INVALID_EVENTS")


def test_the_delivery_log_and_its_filters(api, receiver, webhook, channel):
    receiver.answers = [500]
    api.post(f"/webhooks/{webhook['id']}/test")  # failed test ping
    receive_message(channel=channel, sender="+5511999999999", content={"type": "text", "text": "a"})
    dispatch_outbox()
    delivery = WebhookDelivery.objects.get(event="message.received")
    from messaging.services.webhooks import deliver_webhook

    assert deliver_webhook(delivery_pk=delivery.pk) == "sent"

    status, body = api.get(f"/webhooks/{webhook['id']}/deliveries")
    assert status == 200
    assert [d["attributes"]["event"] for d in body["data"]] == ["message.received", "test.ping"]
    newest = body["data"][0]
    assert newest["id"] == delivery.public_id and newest["type"] == "webhookDelivery"
    attrs = newest["attributes"]
    assert attrs["status"] == "succeeded" and attrs["attempts"] == 1
    assert attrs["webhookId"] == webhook["id"]
    assert attrs["eventId"] == OutboxEvent.objects.get(event="message.received").public_id
    assert attrs["requestHeaders"]["X-Inbox-Delivery-Id"] == delivery.public_id
    assert attrs["requestHeaders"]["X-Inbox-Signature"].startswith("sha256=")
    assert attrs["response"] == {"statusCode": 200, "body": '{"ok": true}'}
    assert attrs["payload"]["event"] == "message.received"
    assert body["meta"]["pagination"]["totalCount"] == 2

    for params, expected in (
        ({"status": "failed"}, ["test.ping"]),
        ({"status": "succeeded"}, ["message.received"]),
        ({"status": "pending"}, []),
        ({"event": "test.ping"}, ["test.ping"]),
        ({"event": "message.received", "status": "failed"}, []),
    ):
        _, body = api.get(f"/webhooks/{webhook['id']}/deliveries", params)
        assert [d["attributes"]["event"] for d in body["data"]] == expected, params
    for params, field in (({"status": "lost"}, "status"), ({"event": "nope"}, "event")):
        status, body = api.get(f"/webhooks/{webhook['id']}/deliveries", params)
        assert status == 400 and body["error"]["details"][0]["field"] == field


def test_retry_sends_again_now_with_the_same_delivery_id(api, receiver, webhook):
    receiver.answers = [500]
    _, body = api.post(f"/webhooks/{webhook['id']}/test")
    delivery_id = body["data"]["deliveryId"]
    status, body = api.post(f"/webhooks/{webhook['id']}/deliveries/{delivery_id}/retry")
    assert status == 200, body
    attrs = body["data"]["attributes"]
    assert attrs["status"] == "succeeded" and attrs["attempts"] == 2
    assert [r["headers"]["X-Inbox-Delivery-Id"] for r in receiver.requests] == [delivery_id] * 2

    status, body = api.post(f"/webhooks/{webhook['id']}/deliveries/del_missing/retry")
    assert (status, body["error"]["code"]) == (404, "DELIVERY_NOT_FOUND")


def test_retry_of_a_delivery_in_flight_is_409(api, webhook):
    endpoint = WebhookEndpoint.objects.get(public_id=webhook["id"])
    (delivery,) = _deliveries(endpoint, ["pending"])
    from django.utils import timezone

    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now())
    status, body = api.post(f"/webhooks/{webhook['id']}/deliveries/{delivery.public_id}/retry")
    assert (status, body["error"]["code"]) == (409, "DELIVERY_IN_PROGRESS")


def test_a_delivery_of_another_webhook_is_not_found_under_this_one(api, receiver, webhook):
    _, other = _create(api, receiver)
    _, body = api.post(f"/webhooks/{other['data']['id']}/test")
    delivery_id = body["data"]["deliveryId"]
    status, body = api.post(f"/webhooks/{webhook['id']}/deliveries/{delivery_id}/retry")
    assert (status, body["error"]["code"]) == (404, "DELIVERY_NOT_FOUND")


# --- Stats -------------------------------------------------------------------------------------


def test_stats_and_last_delivery_are_right(api, webhook, receiver):
    endpoint = WebhookEndpoint.objects.get(public_id=webhook["id"])
    _deliveries(endpoint, ["succeeded"] * 3 + ["failed"] + ["pending"] * 2)
    receiver.answers = [500]
    _, body = api.post(f"/webhooks/{webhook['id']}/test")  # the newest: a failure
    last_id = body["data"]["deliveryId"]
    # Another endpoint's deliveries count for it alone.
    _, other = _create(api, receiver)
    _deliveries(WebhookEndpoint.objects.get(public_id=other["data"]["id"]), ["succeeded"])

    _, body = api.get(f"/webhooks/{webhook['id']}")
    attrs = body["data"]["attributes"]
    assert attrs["stats"] == {
        "deliveriesTotal": 7,
        "deliveriesSucceeded": 3,
        "deliveriesFailed": 2,
        "deliveriesPending": 2,
        "successRate": 0.6,  # 3 of the 5 finished
    }
    last = attrs["lastDelivery"]
    assert (last["id"], last["event"], last["status"], last["statusCode"]) == (
        last_id,
        "test.ping",
        "failed",
        500,
    )
    assert last["at"].endswith("Z")

    _, listing = api.get("/webhooks")
    by_id = {w["id"]: w["attributes"] for w in listing["data"]}
    assert by_id[webhook["id"]]["stats"] == attrs["stats"]
    assert by_id[other["data"]["id"]]["stats"]["deliveriesTotal"] == 1
    assert by_id[other["data"]["id"]]["stats"]["successRate"] == 1.0


# --- Lists: pages and query counts ----------------------------------------------------------------


def test_list_pages_newest_first(api, receiver):
    ids = [_create(api, receiver)[1]["data"]["id"] for _ in range(3)]
    status, body = api.get("/webhooks", {"perPage": 2})
    assert status == 200
    assert [w["id"] for w in body["data"]] == ids[::-1][:2]
    assert body["meta"]["pagination"]["totalCount"] == 3
    assert body["meta"]["pagination"]["hasNextPage"] is True


def _queries(api, path, params):
    with CaptureQueriesContext(connection) as ctx:
        status, _ = api.get(path, params)
    assert status == 200
    return len(ctx.captured_queries)


def test_the_webhook_list_runs_a_constant_number_of_queries(api, workspace):
    endpoints = WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(
            workspace=workspace, url=f"https://93.184.216.34/{i}", events=["*"], secret="whsec_x"
        )
        for i in range(110)
    )
    for endpoint in endpoints:
        _deliveries(endpoint, ["succeeded", "failed"])
    api.get("/webhooks")  # warm the key's last_used_at write
    one = _queries(api, "/webhooks", {"perPage": 1})
    hundred = _queries(api, "/webhooks", {"perPage": 100})
    # 1 API key, 1 COUNT, 1 page, 1 stats aggregate, 1 last delivery per endpoint.
    assert one == hundred == 5


def test_the_delivery_log_runs_a_constant_number_of_queries(api, webhook):
    endpoint = WebhookEndpoint.objects.get(public_id=webhook["id"])
    _deliveries(endpoint, ["succeeded", "failed", "pending"] * 40)
    api.get(f"/webhooks/{webhook['id']}/deliveries")
    one = _queries(api, f"/webhooks/{webhook['id']}/deliveries", {"perPage": 1})
    hundred = _queries(api, f"/webhooks/{webhook['id']}/deliveries", {"perPage": 100})
    # 1 API key, 1 webhook, 1 COUNT, 1 page.
    assert one == hundred == 4


def test_the_detail_runs_a_fixed_number_of_queries(api, webhook):
    endpoint = WebhookEndpoint.objects.get(public_id=webhook["id"])
    _deliveries(endpoint, ["succeeded"] * 30)
    api.get(f"/webhooks/{webhook['id']}")
    # 1 API key, 1 webhook, 1 stats aggregate, 1 last delivery.
    assert _queries(api, f"/webhooks/{webhook['id']}", {}) == 4


# --- Isolation, scopes, agents ------------------------------------------------------------------


def _endpoints(webhook_id: str, delivery_id: str) -> list[tuple[str, str, object]]:
    return [
        ("get", f"/webhooks/{webhook_id}", None),
        ("patch", f"/webhooks/{webhook_id}", {"description": "hijack"}),
        ("delete", f"/webhooks/{webhook_id}", None),
        ("post", f"/webhooks/{webhook_id}/test", None),
        ("get", f"/webhooks/{webhook_id}/deliveries", None),
        ("post", f"/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", None),
    ]


def test_every_id_of_a_is_404_for_b(stranger_api, api, receiver, webhook):
    _, body = api.post(f"/webhooks/{webhook['id']}/test")
    delivery_id = body["data"]["deliveryId"]
    sent = len(receiver.requests)
    before = list(WebhookEndpoint.objects.order_by("pk").values())
    deliveries_before = list(WebhookDelivery.objects.order_by("pk").values())
    for method, path, data in _endpoints(webhook["id"], delivery_id):
        status, body = getattr(stranger_api, method)(path, data)
        assert status == 404, (method, path, status, body)
        assert body["error"]["code"] == "WEBHOOK_NOT_FOUND", (method, path, body)
    assert list(WebhookEndpoint.objects.order_by("pk").values()) == before
    assert list(WebhookDelivery.objects.order_by("pk").values()) == deliveries_before
    assert len(receiver.requests) == sent
    # Same answer for a foreign id and a missing one.
    missing = stranger_api.get("/webhooks/wh_doesnotexist0000000000")[1]["error"]
    assert missing["code"] == "WEBHOOK_NOT_FOUND"


def test_lists_never_show_a_rows(stranger_api, api, webhook):
    api.post(f"/webhooks/{webhook['id']}/test")
    status, body = stranger_api.get("/webhooks")
    assert status == 200 and body["data"] == []
    assert body["meta"]["pagination"]["totalCount"] == 0


def test_b_events_never_reach_a_webhooks(
    api, webhook, receiver, other_workspace, make_channel, django_capture_on_commit_callbacks
):
    foreign_channel = make_channel(other_workspace)
    with django_capture_on_commit_callbacks(execute=True):
        receive_message(
            channel=foreign_channel, sender="+5511999999999", content={"type": "text", "text": "b"}
        )
    assert receiver.requests == []
    assert WebhookDelivery.objects.count() == 0


def test_scopes(workspace, receiver):
    _, read_only = create_api_key(workspace=workspace, name="ro", scopes=["webhooks:read"])
    _, messages_only = create_api_key(workspace=workspace, name="m", scopes=["messages:read"])
    ro, mo = Api(read_only), Api(messages_only)
    assert ro.get("/webhooks")[0] == 200
    status, body = ro.post("/webhooks", {"url": receiver.url, "events": ["*"]})
    assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS")
    assert mo.get("/webhooks")[0] == 403
    assert Api(None).get("/webhooks")[1]["error"]["code"] == "AUTHENTICATION_REQUIRED"


def test_access_tokens_agents_read_admins_write(workspace, agent, admin_user, receiver):
    from inbox.auth_services import login

    password = "correct-horse-battery-staple"
    as_agent = Api(login(email=agent.email, password=password).access_token)
    as_admin = Api(login(email=admin_user.email, password=password).access_token)
    assert as_agent.get("/webhooks")[0] == 200
    status, body = as_agent.post("/webhooks", {"url": receiver.url, "events": ["*"]})
    assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS")
    status, body = as_admin.post("/webhooks", {"url": receiver.url, "events": ["*"]})
    assert status == 201 and body["data"]["attributes"]["secret"].startswith("whsec_")


def test_the_agent_role_cannot_write_even_with_the_write_scope(
    workspace, agent, receiver, monkeypatch
):
    """The role check stands on its own, whatever scopes a token carries."""
    from inbox.api import authentication

    webhook = create_webhook(workspace=workspace, url=receiver.url, events=["*"])
    principal = Principal(workspace=workspace, user=agent, role="agent", scopes=frozenset({"*"}))

    # The access-token flow is another module's; stand in for its result.
    def as_agent(self, request):
        return agent, principal

    monkeypatch.setattr(authentication.ApiKeyAuthentication, "authenticate", as_agent)
    client = Api("iat_anything")
    assert client.get("/webhooks")[0] == 200
    assert client.get(f"/webhooks/{webhook.public_id}/deliveries")[0] == 200
    for method, path, data in [
        ("post", "/webhooks", {"url": receiver.url, "events": ["*"]}),
        ("patch", f"/webhooks/{webhook.public_id}", {"status": "inactive"}),
        ("delete", f"/webhooks/{webhook.public_id}", None),
        ("post", f"/webhooks/{webhook.public_id}/test", None),
    ]:
        status, body = getattr(client, method)(path, data)
        assert (status, body["error"]["code"]) == (403, "INSUFFICIENT_PERMISSIONS"), path
    assert receiver.requests == []
    webhook.refresh_from_db()
    assert webhook.status == "active"


def test_the_schema_documents_every_webhook_endpoint(tmp_path, db):
    import yaml
    from django.core.management import call_command

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    expected = {
        "/api/v1/webhooks": {"get", "post"},
        "/api/v1/webhooks/{webhook_id}": {"get", "patch", "delete"},
        "/api/v1/webhooks/{webhook_id}/test": {"post"},
        "/api/v1/webhooks/{webhook_id}/deliveries": {"get"},
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(schema["paths"][path]), path
    text = yaml.safe_dump(schema)
    for code in ("INVALID_URL", "INVALID_EVENTS", "WEBHOOK_NOT_FOUND", "DELIVERY_NOT_FOUND"):
        assert code in text
