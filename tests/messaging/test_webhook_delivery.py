"""Webhook delivery end to end, against a real HTTP server on 127.0.0.1.

Events are recorded by the real services; the on-commit trigger, the
dispatcher, the Celery tasks (eager) and the HTTP POST all run for real, and
`Receiver` records what reached the wire. Signatures are checked by
recomputing the HMAC here, not by calling our own signing code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from messaging.events import record_event
from messaging.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from messaging.services import receive_message
from messaging.services.webhooks import (
    create_webhook,
    deliver_webhook,
    dispatch_outbox,
    queue_due_webhook_deliveries,
    retry_webhook_delivery,
    send_test_webhook,
    update_webhook,
)
from messaging.tasks import deliver_webhook_task, dispatch_outbox_task


class Receiver:
    """A local HTTP server that records every request and answers as told.

    `answers` is a queue of status codes (then `default`); `delay` makes every
    answer slow, for timeouts.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.default = 200
        self.body = b'{"ok": true}'
        self.delay = 0.0
        self.lock = threading.Lock()
        self.closed = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    if status in (301, 302):
                        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(receiver.body)))
                    self.end_headers()
                    self.wfile.write(receiver.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/inbox?src=test"

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index]["body"])

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@pytest.fixture
def endpoint(workspace, receiver) -> WebhookEndpoint:
    return create_webhook(
        workspace=workspace,
        url=receiver.url,
        events=["message.received"],
        headers={"Authorization": "Bearer crm-token"},
        timeout_seconds=5,
    )


def inbound(channel, text="hello", sender="+5511999999999"):
    return receive_message(
        channel=channel, sender=sender, content={"type": "text", "text": text}
    ).message


def make_due(delivery: WebhookDelivery) -> None:
    """Move a scheduled retry's time to now (fixture data: tests cannot wait 2 h)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# --- Payload, signature, headers -------------------------------------------------------


def test_an_event_reaches_the_endpoint_signed_with_the_spec_headers(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = inbound(channel)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hooks/inbox?src=test"
    event = OutboxEvent.objects.get(event="message.received")
    delivery = WebhookDelivery.objects.get()

    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Inbox-Webhooks/")
    assert headers["X-Inbox-Event"] == "message.received"
    assert headers["X-Inbox-Delivery-Id"] == delivery.public_id
    assert headers["Authorization"] == "Bearer crm-token"
    timestamp = headers["X-Inbox-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert headers["X-Inbox-Signature"] == expected_signature(endpoint.secret, timestamp, body)
    # Any other secret, or a changed body, does not verify.
    assert headers["X-Inbox-Signature"] != expected_signature("whsec_other", timestamp, body)
    assert headers["X-Inbox-Signature"] != expected_signature(
        endpoint.secret, timestamp, body + b" "
    )

    payload = json.loads(body)
    assert payload["id"] == event.public_id
    assert payload["event"] == "message.received"
    assert payload["timestamp"].endswith("Z")
    assert payload["data"] == event.data
    assert payload["data"]["id"] == message.public_id
    assert payload["meta"] == {
        "workspaceId": endpoint.workspace.public_id,
        "webhookId": endpoint.public_id,
    }

    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempts == 1
    assert delivery.response_status_code == 200
    assert delivery.response_body == '{"ok": true}'
    assert delivery.request_headers["X-Inbox-Delivery-Id"] == delivery.public_id
    assert delivery.completed_at is not None and delivery.duration_ms is not None
    event.refresh_from_db()
    assert event.dispatched_at is not None


def test_only_subscribed_active_endpoints_of_the_same_workspace_get_an_event(
    workspace,
    other_workspace,
    channel,
    receiver,
    make_channel,
    django_capture_on_commit_callbacks,
):
    everything = create_webhook(workspace=workspace, url=receiver.url, events=["*"])
    closed_only = create_webhook(
        workspace=workspace, url=receiver.url, events=["conversation.closed"]
    )
    paused = create_webhook(workspace=workspace, url=receiver.url, events=["*"])
    update_webhook(webhook=paused, status="inactive")
    foreign = create_webhook(workspace=other_workspace, url=receiver.url, events=["*"])

    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)

    targets = set(WebhookDelivery.objects.values_list("endpoint_id", flat=True))
    assert targets == {everything.pk}
    assert closed_only.pk not in targets and paused.pk not in targets
    assert foreign.pk not in targets
    webhook_ids = {json.loads(r["body"])["meta"]["webhookId"] for r in receiver.requests}
    assert webhook_ids == {everything.public_id}
    # The foreign workspace's own events do reach its own endpoint.
    foreign_channel = make_channel(other_workspace)
    with django_capture_on_commit_callbacks(execute=True):
        inbound(foreign_channel, sender="+5511988887777")
    assert WebhookDelivery.objects.filter(endpoint=foreign).exists()
    assert all(d.workspace_id == other_workspace.pk for d in foreign.deliveries.all())


# --- The outbox: commit, rollback, dispatcher ---------------------------------------------


def test_an_event_of_a_rolled_back_change_never_creates_a_delivery(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        inbound(channel)
        raise RuntimeError("the rest of the change failed")
    assert callbacks == []
    dispatch_outbox()
    assert OutboxEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


def test_one_dispatch_is_queued_per_transaction_not_per_event(
    workspace, endpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for n in range(3):
            record_event(workspace=workspace, event="contact.updated", data={"n": n})
    dispatches = [c for c in callbacks if c.__name__ == "dispatch_outbox_after_commit"]
    assert len(dispatches) == 1
    # A later transaction asks again.
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        record_event(workspace=workspace, event="contact.updated", data={"n": 4})
    # (Open inbox pages are signalled by a callback of their own.)
    assert [c.__name__ for c in callbacks if c.__name__ != "notify_live_streams"] == [
        "dispatch_outbox_after_commit"
    ]


def test_dispatching_twice_creates_no_duplicate_deliveries(endpoint, workspace, channel):
    # No on-commit execution: the events wait in the outbox.
    inbound(channel, "one")
    inbound(channel, "two")
    assert WebhookDelivery.objects.count() == 0

    assert dispatch_outbox() == OutboxEvent.objects.count()
    assert WebhookDelivery.objects.count() == 2
    assert dispatch_outbox() == 0
    # Even if a crashed run left its events unmarked, nothing is created twice.
    OutboxEvent.objects.update(dispatched_at=None)
    dispatch_outbox()
    assert WebhookDelivery.objects.count() == 2
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


def test_beat_picks_up_events_whose_on_commit_trigger_never_ran(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    inbound(channel)  # committed, but its trigger was lost (never executed)
    assert receiver.requests == []
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_outbox_task.apply()  # what beat runs every 30 s

    assert len(receiver.requests) == 1
    assert receiver.json()["event"] == "message.received"
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_the_dispatcher_works_in_batches(endpoint, channel):
    for n in range(5):
        inbound(channel, f"m{n}")
    assert dispatch_outbox(batch_size=2) == OutboxEvent.objects.count()
    assert WebhookDelivery.objects.count() == 5


# --- Failures and the retry schedule ---------------------------------------------------------


def test_failures_retry_after_1_5_30_minutes_and_2_hours_then_fail(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    receiver.default = 500
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    delivery = WebhookDelivery.objects.get()

    expected_waits = [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
    ]
    for attempt, wait in enumerate(expected_waits, start=1):
        delivery.refresh_from_db()
        assert delivery.status == "pending"
        assert delivery.attempts == attempt
        assert delivery.response_status_code == 500
        assert delivery.error == "The endpoint answered HTTP 500."
        assert delivery.next_attempt_at - delivery.last_attempt_at == wait
        # Not due yet: a task arriving early sends nothing.
        assert deliver_webhook(delivery_pk=delivery.pk) == "not-due"
        assert len(receiver.requests) == attempt
        make_due(delivery)
        with django_capture_on_commit_callbacks(execute=True):
            deliver_webhook_task.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == 5
    assert delivery.next_attempt_at is None and delivery.completed_at is not None
    assert len(receiver.requests) == 5
    # The same delivery id on every attempt, each freshly signed.
    ids = {r["headers"]["X-Inbox-Delivery-Id"] for r in receiver.requests}
    assert ids == {delivery.public_id}
    for request in receiver.requests:
        headers = request["headers"]
        assert headers["X-Inbox-Signature"] == expected_signature(
            endpoint.secret, headers["X-Inbox-Timestamp"], request["body"]
        )
    assert len({r["body"] for r in receiver.requests}) == 1
    # Finished: a late task does nothing.
    assert deliver_webhook(delivery_pk=delivery.pk) == "done"


def test_max_retries_zero_fails_at_the_first_error(
    workspace, channel, receiver, django_capture_on_commit_callbacks
):
    create_webhook(workspace=workspace, url=receiver.url, events=["*"], max_retries=0)
    receiver.default = 503
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}


def test_a_timeout_is_a_failure(workspace, channel, receiver, django_capture_on_commit_callbacks):
    create_webhook(
        workspace=workspace, url=receiver.url, events=["message.received"], timeout_seconds=1
    )
    receiver.delay = 1.5
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.response_status_code is None
    assert delivery.error == "No answer within 1 s."
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(minutes=1)


def test_a_refused_connection_is_a_failure(
    workspace, channel, receiver, django_capture_on_commit_callbacks
):
    port = receiver.server.server_address[1]
    receiver.close()  # nothing listens there any more
    create_webhook(
        workspace=workspace, url=f"http://127.0.0.1:{port}/x", events=["message.received"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.error.startswith("Network error")


def test_redirects_are_not_followed(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [302]
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.response_status_code == 302
    assert len(receiver.requests) == 1


def test_the_response_body_is_kept_to_2_kb(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    receiver.body = b"x" * 5000
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"
    assert delivery.response_body == "x" * 2048


def test_410_gone_deactivates_the_endpoint(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [410]
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    assert WebhookDelivery.objects.get().status == "failed"
    endpoint.refresh_from_db()
    assert endpoint.status == "inactive"
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel, "again")
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1


def test_a_delivery_to_a_since_deactivated_endpoint_fails_without_sending(
    endpoint, channel, receiver
):
    inbound(channel)
    dispatch_outbox()
    update_webhook(webhook=endpoint, status="inactive")
    delivery = WebhookDelivery.objects.get()
    assert deliver_webhook(delivery_pk=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == ("failed", "The webhook is inactive.")
    assert receiver.requests == []


# --- Claims: a duplicate task sends nothing -----------------------------------------------------


def test_a_claimed_delivery_is_not_sent_by_a_second_task(endpoint, channel, receiver):
    inbound(channel)
    dispatch_outbox()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now())
    assert deliver_webhook(delivery_pk=delivery.pk) == "in-flight"
    assert receiver.requests == []
    # A claim older than any attempt can last belongs to a dead worker: taken over.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert deliver_webhook(delivery_pk=delivery.pk) == "sent"
    assert len(receiver.requests) == 1
    assert deliver_webhook(delivery_pk=delivery.pk) == "done"
    assert deliver_webhook(delivery_pk=999_999) == "missing"


# --- Order within a conversation ------------------------------------------------------------------


def test_events_of_one_conversation_arrive_in_order_and_others_do_not_wait(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [500]  # the first attempt fails, the rest succeed
    with django_capture_on_commit_callbacks(execute=True):
        first = inbound(channel, "first")
    with django_capture_on_commit_callbacks(execute=True):
        second = inbound(channel, "second")
    with django_capture_on_commit_callbacks(execute=True):
        elsewhere = inbound(channel, "other conversation", sender="+5511977776666")

    texts = [
        receiver.json(i)["data"]["attributes"]["content"]["text"]
        for i in range(len(receiver.requests))
    ]
    # The second event waits behind the failing first; the other conversation does not.
    assert texts == ["first", "other conversation"]
    d_first, d_second = (
        WebhookDelivery.objects.get(outbox_event__data__id=m.public_id) for m in (first, second)
    )
    assert d_second.status == "pending" and d_second.attempts == 0
    assert d_second.next_attempt_at is None  # parked until the first is done
    assert deliver_webhook(delivery_pk=d_second.pk) == "waiting"
    assert elsewhere.conversation_id != first.conversation_id

    # The retry of the first succeeds, and its completion sends the second.
    make_due(d_first)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhook_task.apply(args=[d_first.pk])
    texts = [
        receiver.json(i)["data"]["attributes"]["content"]["text"]
        for i in range(len(receiver.requests))
    ]
    assert texts == ["first", "other conversation", "first", "second"]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_finally_failed_event_lets_the_next_one_go(
    workspace, channel, receiver, django_capture_on_commit_callbacks
):
    create_webhook(
        workspace=workspace, url=receiver.url, events=["message.received"], max_retries=1
    )
    receiver.answers = [500, 500]
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel, "first")
        inbound(channel, "second")
    d_first, d_second = WebhookDelivery.objects.order_by("outbox_event_id")
    assert len(receiver.requests) == 1
    make_due(d_first)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhook_task.apply(args=[d_first.pk])
    d_first.refresh_from_db()
    d_second.refresh_from_db()
    assert d_first.status == "failed"
    assert d_second.status == "succeeded"
    assert receiver.json()["data"]["attributes"]["content"]["text"] == "second"


# --- The beat sweep ------------------------------------------------------------------------------


def test_the_sweep_requeues_lost_retries_dead_claims_and_orphaned_waiters(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    inbound(channel, "a")
    inbound(channel, "b")
    inbound(channel, "c", sender="+5511977776666")
    dispatch_outbox()  # deliveries exist, their tasks were lost
    a, b, c = WebhookDelivery.objects.order_by("outbox_event_id")
    long_ago = timezone.now() - timedelta(minutes=30)
    WebhookDelivery.objects.filter(pk=a.pk).update(next_attempt_at=long_ago)
    # b waits behind a (parked); c was claimed by a worker that died.
    WebhookDelivery.objects.filter(pk=b.pk).update(next_attempt_at=None)
    WebhookDelivery.objects.filter(pk=c.pk).update(next_attempt_at=long_ago, claimed_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        queued = queue_due_webhook_deliveries()
    # a and c are due; b is still behind a when the sweep looks, and a's
    # success kicks it.
    assert queued == 2
    texts = [
        json.loads(r["body"])["data"]["attributes"]["content"]["text"] for r in receiver.requests
    ]
    assert sorted(texts) == ["a", "b", "c"]
    assert texts.index("a") < texts.index("b")
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}

    # A parked delivery whose predecessor finished while its kick was lost.
    inbound(channel, "d")
    dispatch_outbox()
    d = WebhookDelivery.objects.order_by("-id").first()
    WebhookDelivery.objects.filter(pk=d.pk).update(next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert queue_due_webhook_deliveries() == 1
    d.refresh_from_db()
    assert d.status == "succeeded"


def test_the_sweep_leaves_fresh_and_future_deliveries_alone(endpoint, channel, receiver):
    inbound(channel)
    dispatch_outbox()  # just created: its own task is on the way
    assert queue_due_webhook_deliveries() == 0
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert queue_due_webhook_deliveries() == 0
    assert receiver.requests == []


# --- Test sends and manual retries ---------------------------------------------------------


def test_a_test_ping_is_sent_now_and_never_retried_automatically(endpoint, receiver):
    receiver.answers = [500]
    delivery = send_test_webhook(webhook=endpoint)
    assert delivery.status == "failed" and delivery.is_test
    assert delivery.response_status_code == 500
    assert receiver.json()["event"] == "test.ping"
    assert receiver.requests[0]["headers"]["X-Inbox-Event"] == "test.ping"

    retried = retry_webhook_delivery(delivery=delivery)
    assert retried.status == "succeeded" and retried.attempts == 2
    assert [r["headers"]["X-Inbox-Delivery-Id"] for r in receiver.requests] == [
        delivery.public_id,
        delivery.public_id,
    ]
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]


def test_a_manual_retry_sends_a_failed_delivery_again(
    endpoint, channel, receiver, django_capture_on_commit_callbacks
):
    update_webhook(webhook=endpoint, max_retries=0)
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        inbound(channel)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    retried = retry_webhook_delivery(delivery=delivery)
    assert (retried.status, retried.attempts, retried.completed_at is not None) == (
        "succeeded",
        2,
        True,
    )
