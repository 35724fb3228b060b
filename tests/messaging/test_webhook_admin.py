"""Webhooks admin: writes go through the webhook services, the secret shows once, lists are flat.

The changelist query-count tests build their 1 and 100 rows with
`bulk_create` (fixture data), like tests/test_admin_site.py.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inbox.models import User
from inbox.services import create_workspace
from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.services.webhooks import create_webhook, send_test_webhook
from tests.messaging.test_webhook_delivery import Receiver
from tests.test_admin_site import form_data


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_superuser(email="ops@inbox.test", password="ops-password-123")


@pytest.fixture
def ops_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def webhook(workspace, receiver) -> WebhookEndpoint:
    return create_webhook(workspace=workspace, url=receiver.url, events=["message.received"])


def test_pages_render_and_never_show_the_secret(ops_client, webhook):
    delivery = send_test_webhook(webhook=webhook)
    for url in (
        reverse("admin:messaging_webhookendpoint_changelist"),
        reverse("admin:messaging_webhookendpoint_add"),
        reverse("admin:messaging_webhookendpoint_change", args=[webhook.pk]),
        reverse("admin:messaging_webhookdelivery_changelist"),
        reverse("admin:messaging_webhookdelivery_change", args=[delivery.pk]),
        reverse("admin:messaging_webhookendpoint_changelist") + "?q=hooks",
        reverse("admin:messaging_webhookdelivery_changelist") + "?q=del",
    ):
        response = ops_client.get(url)
        assert response.status_code == 200, url
        assert webhook.secret not in response.content.decode(), url
    # Filtering on the secret is refused rather than leaking it bit by bit.
    prefix = webhook.secret[:8]
    url = reverse("admin:messaging_webhookendpoint_changelist")
    response = ops_client.get(url, {"secret__startswith": prefix})
    assert response.status_code in (302, 400)
    assert ops_client.get(reverse("admin:messaging_webhookdelivery_add")).status_code == 403


def test_adding_calls_create_webhook_and_shows_the_secret_once(ops_client, workspace, receiver):
    response = ops_client.post(
        reverse("admin:messaging_webhookendpoint_add"),
        {
            "workspace": workspace.pk,
            "url": receiver.url,
            "events": ["message.received", "conversation.closed"],
            "description": "CRM",
            "headers": '{"Authorization": "Bearer t"}',
            "max_retries": 3,
            "timeout_seconds": 5,
        },
    )
    assert response.status_code == 200, response.content[:2000]
    webhook = WebhookEndpoint.objects.get()
    assert webhook.secret.startswith("whsec_")
    assert webhook.secret in response.content.decode()
    assert (webhook.max_retries, webhook.timeout_seconds) == (3, 5)
    assert webhook.headers == {"Authorization": "Bearer t"}
    change = ops_client.get(reverse("admin:messaging_webhookendpoint_change", args=[webhook.pk]))
    assert webhook.secret not in change.content.decode()


def test_the_url_guard_shows_as_a_form_error(ops_client, workspace, settings):
    settings.IS_PRODUCTION = True
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = ops_client.post(
        reverse("admin:messaging_webhookendpoint_add"),
        {
            "workspace": workspace.pk,
            "url": "https://169.254.169.254/latest",
            "events": ["*"],
            "headers": "{}",
            "max_retries": 4,
            "timeout_seconds": 10,
        },
    )
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert WebhookEndpoint.objects.count() == 0


def test_changing_goes_through_update_webhook(ops_client, webhook):
    url = reverse("admin:messaging_webhookendpoint_change", args=[webhook.pk])
    page = ops_client.get(url)
    response = ops_client.post(url, form_data(page, status="inactive", max_retries=0))
    assert response.status_code == 302, response.context["adminform"].form.errors
    webhook.refresh_from_db()
    assert (webhook.status, webhook.max_retries) == ("inactive", 0)
    assert webhook.events == ["message.received"]


def test_deleting_removes_the_endpoint_and_its_log(ops_client, webhook):
    send_test_webhook(webhook=webhook)
    url = reverse("admin:messaging_webhookendpoint_delete", args=[webhook.pk])
    assert ops_client.post(url, {"post": "yes"}).status_code == 302
    assert WebhookEndpoint.objects.count() == WebhookDelivery.objects.count() == 0


def test_actions_ping_and_retry(ops_client, webhook, receiver):
    response = ops_client.post(
        reverse("admin:messaging_webhookendpoint_changelist"),
        {"action": "send_test_pings", "_selected_action": [webhook.pk]},
    )
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "test.ping" and delivery.status == "succeeded"
    response = ops_client.post(
        reverse("admin:messaging_webhookdelivery_changelist"),
        {"action": "retry_deliveries", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert len(receiver.requests) == 2


# --- Constant queries per changelist ---------------------------------------------------------


def make_endpoints(workspace, n, start):
    WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(
            workspace=workspace,
            url=f"https://93.184.216.34/{i}",
            events=["*"],
            secret="whsec_x",
        )
        for i in range(start, start + n)
    )


def make_deliveries(workspace, n, start):
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace, url=f"https://93.184.216.34/d{start}", events=["*"], secret="whsec_x"
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            workspace=workspace,
            endpoint=endpoint,
            event="message.received",
            status="succeeded",
            request_body="{}",
            attempts=1,
        )
        for _ in range(n)
    )


# 2 for every page (the session, the signed-in user) + ...
CHANGELISTS = {
    # workspace choices, counts (2), rows joined to workspace
    WebhookEndpoint: (make_endpoints, 6),
    # workspace choices, count, rows joined to endpoint and workspace
    WebhookDelivery: (make_deliveries, 5),
}


@pytest.mark.parametrize("model", list(CHANGELISTS), ids=lambda m: m.__name__)
def test_changelist_runs_constant_queries(ops_client, model):
    workspace = create_workspace(slug="bulk", name="Bulk Co")
    make, expected = CHANGELISTS[model]
    url = reverse(f"admin:messaging_{model._meta.model_name}_changelist")

    def count() -> tuple[int, int, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            response = ops_client.get(url)
        assert response.status_code == 200
        sql = [q["sql"] for q in queries.captured_queries]
        return len(sql), response.context["cl"].result_count, sql

    make(workspace, 1, 0)
    small, small_rows, small_sql = count()
    make(workspace, 99, 1)
    large, large_rows, large_sql = count()
    assert large_rows >= 100 > small_rows
    assert small == large, "\n".join(["1 row:", *small_sql, "100 rows:", *large_sql])
    assert large == expected, "\n".join(large_sql)
