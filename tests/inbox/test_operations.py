"""Health probes, request ids in responses and logs, static files with DEBUG off."""

import logging

import pytest

from inbox.celery import app as celery_app
from inbox.request_context import RequestIdLogFilter


def test_healthz_answers_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


@pytest.fixture
def unreachable_broker():
    previous = celery_app.conf.broker_url
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield
    celery_app.conf.broker_url = previous


def test_readyz_is_503_when_the_broker_is_down_and_logs_the_request_id(
    client, db, unreachable_broker, caplog
):
    caplog.handler.addFilter(RequestIdLogFilter())
    with caplog.at_level(logging.WARNING, logger="inbox.views.health"):
        response = client.get("/readyz", HTTP_X_REQUEST_ID="probe-123")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response["X-Request-ID"] == "probe-123"
    records = [r for r in caplog.records if r.name == "inbox.views.health"]
    assert records and all(r.request_id == "probe-123" for r in records)


def test_a_request_id_is_generated_when_missing_or_unsafe(client):
    generated = client.get("/healthz")["X-Request-ID"]
    assert generated.startswith("req_") and len(generated) > 10
    unsafe = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nInjected: 1")["X-Request-ID"]
    assert unsafe.startswith("req_")


def test_static_files_are_served_with_debug_off(client, settings):
    settings.DEBUG = False
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:100]


def test_the_start_page_links_admin_and_api_docs(client, db):
    response = client.get("/")
    assert response.status_code == 200
    for link in (b'href="/admin/"', b'href="/api/v1/docs/"', b'href="/healthz"'):
        assert link in response.content
