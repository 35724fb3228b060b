"""The crash-safe delivery pipeline, with an API channel whose callback is a real local server.

`httpserver` plays the integrator behind the channel's `callbackUrl`. The
tests drive `send_message`, `deliver_message`, `requeue_stuck_deliveries`,
`record_delivery_result`, `apply_provider_status` and the Celery tasks
(eager in tests) and check what reached the stand-in and what the database
says: the message is `pending` before anything leaves, a message is sent once
however many tasks run, a worker killed mid-send is recovered without a
double send where the provider dedupes on the Idempotency-Key, lost tasks
are re-queued, failures are retried or recorded, and statuses only move
forward, whatever order the reports come in.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from werkzeug import Request, Response

from channels_app.links import channel_webhook_path
from channels_app.models import Channel
from channels_app.providers.api.provider import ApiChannelProvider
from channels_app.providers.base import Outbound, SendResult
from inbox.celery import app as celery_app
from inbox.services import create_api_key
from inbox.timefmt import iso
from messaging.models import EarlyStatusReport, Message
from messaging.services import deliver_message, send_message
from messaging.services.messages import (
    MAX_DELIVERY_ATTEMPTS,
    apply_provider_status,
    purge_early_status_reports,
    record_delivery_result,
    requeue_stuck_deliveries,
    retry_delay_seconds,
)
from messaging.tasks import (
    deliver_message_task,
    purge_early_status_reports_task,
    requeue_stuck_deliveries_task,
)
from messaging.webhooks.signing import compute_signature
from tests.messaging.api.conftest import Api

SECRET = "pipeline-secret"
TO = "crm-contact-7"
TEXT = {"type": "text", "text": "Your order has shipped."}
PATH = "/hooks/inbox"


@pytest.fixture
def api_channel(workspace, httpserver) -> Channel:
    return Channel.objects.create(
        workspace=workspace,
        type="api",
        name="CRM",
        status=Channel.Status.ACTIVE,
        config={"callbackUrl": httpserver.url_for(PATH), "callbackSecret": SECRET},
    )


def _queue(workspace, channel, **kwargs) -> Message:
    """A message saved `pending`; its delivery task is not run (on_commit never fires here)."""
    return send_message(workspace=workspace, channel=channel, to=TO, content=TEXT, **kwargs)


def _sent(provider_id: str) -> SendResult:
    return SendResult.sent(provider_id)


def _requests(httpserver) -> list[Request]:
    return [request for request, _ in httpserver.log]


class DedupingIntegrator:
    """An integrator that dedupes on Idempotency-Key: a repeated key gets the same id back."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.delivered: list[str] = []

    def __call__(self, request: Request) -> Response:
        key = request.headers["Idempotency-Key"]
        if key not in self.ids:
            self.ids[key] = f"crm-{len(self.ids) + 1}"
            self.delivered.append(json.loads(request.get_data())["content"]["text"])
        return Response(json.dumps({"id": self.ids[key]}), content_type="application/json")


# --- Saved before sent, sent once -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_message_is_pending_in_the_database_before_the_request_leaves(
    workspace, api_channel, httpserver
):
    seen: list[dict] = []

    def handler(request: Request) -> Response:
        # Runs in the server's thread, on its own database connection: it sees
        # only what the sender had committed when the request arrived.
        try:
            public_id = json.loads(request.get_data())["id"]
            seen.append(
                Message.objects.values("status", "delivery_attempts", "delivery_claimed_at").get(
                    public_id=public_id
                )
            )
        finally:
            connection.close()
        return Response('{"id": "crm-1"}', content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(handler)
    # No open transaction: send_message commits, and the eager task delivers on commit.
    message = send_message(workspace=workspace, channel=api_channel, to=TO, content=TEXT)

    assert len(seen) == 1
    assert seen[0]["status"] == "pending"
    assert seen[0]["delivery_attempts"] == 1
    assert seen[0]["delivery_claimed_at"] is not None
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "crm-1")


def test_two_deliveries_of_one_message_send_once(workspace, api_channel, httpserver):
    httpserver.expect_request(PATH).respond_with_json({"id": "crm-1"})
    message = _queue(workspace, api_channel)
    first = deliver_message(message_pk=message.pk)
    second = deliver_message(message_pk=message.pk)
    assert first is not None and first.ok
    assert second is None
    assert len(httpserver.log) == 1
    message.refresh_from_db()
    assert (message.status, message.delivery_attempts) == ("sent", 1)


# --- A worker killed mid-send ---------------------------------------------------------


def _as_a_killed_worker_left_it(message: Message, *, claimed_ago: timedelta, attempts: int = 1):
    Message.objects.filter(pk=message.pk).update(
        delivery_claimed_at=timezone.now() - claimed_ago, delivery_attempts=attempts
    )


def test_a_send_cut_short_by_a_dead_worker_is_resent_once_with_the_same_key(
    workspace, api_channel, httpserver, settings
):
    integrator = DedupingIntegrator()
    httpserver.expect_request(PATH).respond_with_handler(integrator)
    message = _queue(workspace, api_channel)
    # The worker claimed the message and its request reached the integrator;
    # then the worker was killed before it could record the answer.
    _as_a_killed_worker_left_it(
        message, claimed_ago=timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT_SECONDS + 60)
    )
    first = ApiChannelProvider().send(
        Outbound(
            message_id=message.public_id,
            channel_id=api_channel.public_id,
            channel_type="api",
            config=api_channel.config,
            to=TO,
            content=TEXT,
            idempotency_key=message.public_id,
        )
    )
    assert first.provider_message_id == "crm-1"
    message.refresh_from_db()
    assert message.status == "pending" and message.provider_message_id is None

    assert requeue_stuck_deliveries_task.delay().get() == 1

    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "crm-1")
    assert message.delivery_attempts == 2
    keys = [request.headers["Idempotency-Key"] for request in _requests(httpserver)]
    assert keys == [message.public_id, message.public_id]
    # Two requests, one message on the integrator's side.
    assert integrator.delivered == [TEXT["text"]]


def test_a_claim_younger_than_the_timeout_is_left_alone(workspace, api_channel, httpserver):
    httpserver.expect_request(PATH).respond_with_json({"id": "crm-1"})
    message = _queue(workspace, api_channel)
    _as_a_killed_worker_left_it(message, claimed_ago=timedelta(seconds=10))
    assert requeue_stuck_deliveries() == 0
    assert httpserver.log == []
    message.refresh_from_db()
    assert message.status == "pending" and message.delivery_claimed_at is not None


def test_a_stuck_message_out_of_attempts_fails_with_delivery_timeout(
    workspace, api_channel, httpserver, settings
):
    httpserver.expect_request(PATH).respond_with_json({"id": "crm-1"})
    message = _queue(workspace, api_channel)
    _as_a_killed_worker_left_it(
        message,
        claimed_ago=timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT_SECONDS + 1),
        attempts=MAX_DELIVERY_ATTEMPTS,
    )
    assert requeue_stuck_deliveries() == 0
    assert httpserver.log == []
    message.refresh_from_db()
    assert (message.status, message.failure_code) == ("failed", "DELIVERY_TIMEOUT")
    assert message.delivery_claimed_at is None


# --- Lost tasks -----------------------------------------------------------------------


def test_a_lost_task_is_requeued_but_not_a_scheduled_or_backing_off_message(
    workspace, api_channel, httpserver
):
    httpserver.expect_request(PATH).respond_with_json({"id": "crm-1"})
    now = timezone.now()
    lost = _queue(workspace, api_channel)
    scheduled = _queue(workspace, api_channel, scheduled_at=now + timedelta(hours=1))
    backing_off = _queue(workspace, api_channel)
    fresh = _queue(workspace, api_channel)
    two_minutes_ago = now - timedelta(minutes=2)
    Message.objects.filter(pk__in=[lost.pk, scheduled.pk, backing_off.pk]).update(
        created_at=two_minutes_ago
    )
    # A retry is due in 10 minutes: its task is waiting, not lost.
    Message.objects.filter(pk=backing_off.pk).update(
        next_attempt_at=now + timedelta(minutes=10), delivery_attempts=1
    )

    assert requeue_stuck_deliveries() == 1

    [request] = _requests(httpserver)
    assert json.loads(request.get_data())["id"] == lost.public_id
    statuses = dict(
        Message.objects.filter(
            pk__in=[lost.pk, scheduled.pk, backing_off.pk, fresh.pk]
        ).values_list("pk", "status")
    )
    assert statuses == {
        lost.pk: "sent",
        scheduled.pk: "pending",
        backing_off.pk: "pending",
        fresh.pk: "pending",
    }


# --- Failures -------------------------------------------------------------------------


def test_retry_delays_double_from_30_seconds_and_honour_retry_after():
    assert [retry_delay_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay_seconds(20) == 3600
    assert retry_delay_seconds(3, retry_after=7) == 7
    assert retry_delay_seconds(1, retry_after=86400) == 3600


def test_a_transient_failure_schedules_the_retry_and_releases_the_claim(
    workspace, api_channel, httpserver
):
    httpserver.expect_ordered_request(PATH).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(PATH).respond_with_json(
        {"error": {"message": "Rate limited"}}, status=429, headers={"Retry-After": "90"}
    )
    message = _queue(workspace, api_channel)

    started = timezone.now()
    result = deliver_message(message_pk=message.pk)
    assert result.retryable
    message.refresh_from_db()
    assert message.status == "pending"
    assert message.delivery_claimed_at is None
    assert (message.failure_code, message.failure_reason) == ("CALLBACK_503", "busy")
    assert started + timedelta(seconds=29) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=31)

    # The claim was released: the retry can take the message again.
    started = timezone.now()
    assert deliver_message(message_pk=message.pk).retry_after_seconds == 90
    message.refresh_from_db()
    assert message.delivery_attempts == 2
    assert (message.failure_code, message.failure_reason) == ("CALLBACK_429", "Rate limited")
    assert started + timedelta(seconds=89) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=91)


def test_a_permanent_failure_is_shown_by_the_api(workspace, api_channel, httpserver):
    httpserver.expect_request(PATH).respond_with_json(
        {"error": {"message": "Customer opted out"}}, status=403
    )
    message = _queue(workspace, api_channel)
    result = deliver_message(message_pk=message.pk)
    assert not result.ok and not result.retryable

    api = Api(create_api_key(workspace=workspace, name="tests")[1])
    status, body = api.get(f"/messages/{message.public_id}")
    assert status == 200, body
    attributes = body["data"]["attributes"]
    assert attributes["status"] == "failed"
    assert attributes["failureCode"] == "CALLBACK_403"
    assert attributes["failureReason"] == "Customer opted out"
    assert len(httpserver.log) == 1


@pytest.fixture
def retries_requeued():
    """Eager tasks that retry as a worker would, instead of raising `Retry` at the caller.

    With `task_eager_propagates` (the test default) the `Retry` a task raises
    escapes to whoever queued it; without it, eager Celery runs the retry at
    once (countdown ignored), as a worker would run it later.
    """
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


def test_exhausted_retries_fail_the_message(workspace, api_channel, httpserver, retries_requeued):
    httpserver.expect_request(PATH).respond_with_data("still down", status=502)
    message = _queue(workspace, api_channel)

    assert deliver_message_task.delay(message.pk).get() == "failed"

    requests = _requests(httpserver)
    assert len(requests) == MAX_DELIVERY_ATTEMPTS
    assert {r.headers["Idempotency-Key"] for r in requests} == {message.public_id}
    message.refresh_from_db()
    assert message.delivery_attempts == MAX_DELIVERY_ATTEMPTS
    assert (message.status, message.failure_code, message.failure_reason) == (
        "failed",
        "CALLBACK_502",
        "still down",
    )
    assert [h["status"] for h in message.status_history] == ["pending", "failed"]


def test_a_retry_that_succeeds_sends_the_message(
    workspace, api_channel, httpserver, retries_requeued
):
    httpserver.expect_ordered_request(PATH).respond_with_data("", status=503)
    httpserver.expect_ordered_request(PATH).respond_with_json({"id": "crm-2"})
    message = _queue(workspace, api_channel)

    assert deliver_message_task.delay(message.pk).get() == "sent"

    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "crm-2")
    assert message.delivery_attempts == 2
    assert message.next_attempt_at is None
    assert len(httpserver.log) == 2


# --- Status reports in any order ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_status_reported_before_the_send_answer_is_applied_when_it_lands(
    workspace, api_channel, httpserver
):
    reports: list[datetime] = []
    early: list[int] = []

    def integrator(request: Request) -> Response:
        # The integrator's signed "delivered" callback reaches our webhook
        # before its answer to the send reaches us.
        now = timezone.now()
        reported_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        reports.append(reported_at)
        body = json.dumps(
            {
                "type": "status",
                "messageId": "crm-9",
                "status": "delivered",
                "timestamp": iso(reported_at),
            }
        ).encode()
        stamp = int(time.time())
        try:
            response = Client().post(
                channel_webhook_path(api_channel),
                body,
                content_type="application/json",
                headers={
                    "X-Inbox-Timestamp": str(stamp),
                    "X-Inbox-Signature": compute_signature(SECRET, stamp, body),
                },
            )
            assert response.status_code == 200
            early.append(EarlyStatusReport.objects.filter(provider_message_id="crm-9").count())
        finally:
            connection.close()
        return Response('{"id": "crm-9"}', content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(integrator)
    message = send_message(workspace=workspace, channel=api_channel, to=TO, content=TEXT)
    httpserver.check_handler_errors()

    # The report had no message to land on, so it waited...
    assert early == [1]
    # ...and was applied when the send answer recorded the provider id, with
    # the time the integrator reported, not the time it was applied.
    [reported_at] = reports
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("delivered", "crm-9")
    assert message.delivered_at == reported_at
    history = message.status_history
    assert [entry["status"] for entry in history] == ["pending", "sent", "delivered"]
    assert {"status": "delivered", "timestamp": iso(reported_at)} in history
    assert [h["timestamp"] for h in history] == sorted(h["timestamp"] for h in history)
    assert not EarlyStatusReport.objects.exists()


def test_a_late_sent_after_read_changes_nothing(workspace, api_channel):
    message = _queue(workspace, api_channel)
    record_delivery_result(message_pk=message.pk, result=_sent("crm-3"))
    now = timezone.now()
    for status, seconds in (("delivered", 1), ("read", 2)):
        apply_provider_status(
            channel=api_channel,
            provider_message_id="crm-3",
            status=status,
            at=now + timedelta(seconds=seconds),
        )
    message.refresh_from_db()
    before = (message.status, message.status_history, message.sent_at, message.updated_at)

    apply_provider_status(channel=api_channel, provider_message_id="crm-3", status="sent", at=now)
    message.refresh_from_db()
    assert (message.status, message.status_history, message.sent_at, message.updated_at) == before
    assert message.status == "read"


def test_out_of_order_reports_end_read_with_history_sorted_by_time(workspace, api_channel):
    message = _queue(workspace, api_channel)
    t0 = message.created_at
    # All three arrive before the send answer is recorded, newest first.
    for status, seconds in (("read", 30), ("delivered", 20), ("sent", 10)):
        apply_provider_status(
            channel=api_channel,
            provider_message_id="crm-4",
            status=status,
            at=t0 + timedelta(seconds=seconds),
        )
    assert EarlyStatusReport.objects.count() == 3
    record_delivery_result(message_pk=message.pk, result=_sent("crm-4"))

    message.refresh_from_db()
    assert message.status == "read"
    assert message.delivered_at == t0 + timedelta(seconds=20)
    assert message.read_at == t0 + timedelta(seconds=30)
    history = message.status_history
    assert [h["status"] for h in history] == ["pending", "sent", "delivered", "read"]
    assert [h["timestamp"] for h in history] == sorted(h["timestamp"] for h in history)


def test_purge_drops_only_old_orphan_reports(workspace, api_channel):
    for provider_id in ("crm-old", "crm-new"):
        apply_provider_status(
            channel=api_channel, provider_message_id=provider_id, status="delivered"
        )
    EarlyStatusReport.objects.filter(provider_message_id="crm-old").update(
        created_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    assert purge_early_status_reports_task.delay().get() == 1
    assert list(EarlyStatusReport.objects.values_list("provider_message_id", flat=True)) == [
        "crm-new"
    ]
    assert purge_early_status_reports(now=timezone.now() + timedelta(days=2)) == 1
    assert not EarlyStatusReport.objects.exists()


def test_the_sweep_task_is_the_service(workspace, api_channel, httpserver):
    httpserver.expect_request(PATH).respond_with_json({"id": "crm-1"})
    message = _queue(workspace, api_channel)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert requeue_stuck_deliveries_task.delay().get() == 1
    assert len(httpserver.log) == 1
    message.refresh_from_db()
    assert message.status == "sent"
