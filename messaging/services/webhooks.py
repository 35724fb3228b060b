"""Webhook services: endpoints, the outbox dispatcher and each delivery's attempts.

Endpoints: `create_webhook`, `update_webhook`, `delete_webhook`, and
`send_test_webhook` / `retry_webhook_delivery`, which send one attempt now,
in the caller's request.

Delivery pipeline (run by the Celery tasks in `messaging.tasks`):

1. `record_event` writes an OutboxEvent in the transaction of the change and
   asks for `dispatch_outbox` on commit; Celery beat also runs it every 30 s,
   so an event whose trigger was lost (broker down at commit) still goes out,
   and a rolled-back change never had a row to dispatch.
2. `dispatch_outbox` turns each undispatched event, in id order, into one
   WebhookDelivery per subscribed active endpoint (unique per endpoint and
   event, so running it twice creates nothing twice), marks the event
   dispatched, and queues the deliveries after its commit.
3. `deliver_webhook` sends one delivery: it waits while an earlier delivery of
   the same conversation to the same endpoint is still pending (events of a
   conversation arrive in the order they happened), claims the attempt with a
   conditional UPDATE (a duplicate task sends nothing), POSTs outside any
   transaction, and records the answer. Failures are retried after 1 min,
   5 min, 30 min and 2 h, then the delivery is `failed` (retryable by hand).
4. `queue_due_webhook_deliveries` (beat) re-queues retries whose task was lost,
   attempts whose worker died mid-send, and deliveries parked behind an
   earlier one whose completion kick was lost.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from inbox.errors import ValidationFailed
from inbox.ids import new_public_id
from inbox.models import Workspace
from inbox.timefmt import iso
from messaging.events import EVENT_TYPES
from messaging.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from messaging.webhooks.errors import DeliveryInProgress, InvalidEvents, InvalidWebhookUrl
from messaging.webhooks.signing import compute_signature, new_webhook_secret
from messaging.webhooks.transport import USER_AGENT, AttemptResult, post_json
from messaging.webhooks.urls import check_destination, validate_webhook_url

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

# Waits before retry 1, 2, 3, 4; further retries (maxRetries > 4) wait the last.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
DEFAULT_MAX_RETRIES = 4
MAX_RETRIES_LIMIT = 10
TIMEOUT_RANGE = (1, 30)
# A claim older than this belongs to a worker that died mid-attempt; the
# longest attempt is the 30 s timeout, so this is far beyond any live one.
STALE_CLAIM_AFTER = timedelta(minutes=10)
# The sweep leaves a due delivery alone this long: its own task is on the way.
SWEEP_GRACE = timedelta(seconds=60)
DISPATCH_BATCH = 200
# PostgreSQL advisory lock id: one dispatcher at a time keeps deliveries in event order.
DISPATCH_LOCK_ID = 0x77686F6F  # "whoo"
MAX_CUSTOM_HEADERS = 20
# Headers we set on every delivery; a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "user-agent", "transfer-encoding", "connection"}
)
TEST_EVENT = "test.ping"


class _Unset:
    """Marks a keyword left out of `update_webhook` (None can be a real value)."""


UNSET: Any = _Unset()


# --- Validation -------------------------------------------------------------------


def _clean_events(events: Any, field: str = "events") -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationFailed('Give a list of event names, or ["*"] for all.', field=field)
    if not all(isinstance(e, str) for e in events):
        raise ValidationFailed("Event names must be strings.", field=field)
    unknown = [e for e in events if e != "*" and e not in EVENT_TYPES]
    if unknown:
        raise InvalidEvents(
            f"Unknown events: {', '.join(unknown)}. Known: *, {', '.join(EVENT_TYPES)}.",
            field=field,
        )
    if "*" in events:
        return ["*"]
    return list(dict.fromkeys(events))


def _clean_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict):
        raise ValidationFailed("Must be an object of header names to values.", field="headers")
    if len(headers) > MAX_CUSTOM_HEADERS:
        raise ValidationFailed(f"At most {MAX_CUSTOM_HEADERS} headers.", field="headers")
    cleaned: dict[str, str] = {}
    for name, value in headers.items():
        where = f"headers.{name}"
        if not name or not all(33 <= ord(c) <= 126 and c != ":" for c in name):
            raise ValidationFailed("Not a valid header name.", field=where)
        lowered = name.lower()
        if lowered in RESERVED_HEADERS or lowered.startswith("x-inbox-"):
            raise ValidationFailed("This header is set by the inbox itself.", field=where)
        if not isinstance(value, str) or len(value) > 1000:
            raise ValidationFailed("Must be a string of at most 1000 characters.", field=where)
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValidationFailed("Must not contain line breaks.", field=where)
        cleaned[name] = value
    return cleaned


def _clean_max_retries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("Must be a whole number.", field="config.maxRetries")
    if not 0 <= value <= MAX_RETRIES_LIMIT:
        raise ValidationFailed(
            f"Must be between 0 and {MAX_RETRIES_LIMIT}.", field="config.maxRetries"
        )
    return value


def _clean_timeout(value: Any) -> int:
    low, high = TIMEOUT_RANGE
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("Must be a whole number of seconds.", field="config.timeout")
    if not low <= value <= high:
        raise ValidationFailed(f"Must be between {low} and {high} seconds.", field="config.timeout")
    return value


def _default_timeout() -> int:
    from django.conf import settings

    low, high = TIMEOUT_RANGE
    return max(low, min(high, round(settings.WEBHOOK_TIMEOUT_SECONDS)))


def _clean_description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationFailed("Must be a string of at most 500 characters.", field="description")
    return value.strip()


# --- Endpoints -----------------------------------------------------------------------


def create_webhook(
    *,
    workspace: Workspace,
    url: str,
    events: list[str],
    description: str = "",
    headers: dict[str, str] | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    timeout_seconds: int | None = None,
) -> WebhookEndpoint:
    """A new active endpoint with a fresh `whsec_...` secret (the caller shows it once)."""
    url = validate_webhook_url(url)
    events = _clean_events(events)
    headers = _clean_headers(headers)
    description = _clean_description(description)
    max_retries = _clean_max_retries(max_retries)
    timeout_seconds = (
        _default_timeout() if timeout_seconds is None else _clean_timeout(timeout_seconds)
    )
    with transaction.atomic():
        return WebhookEndpoint.objects.create(
            workspace=workspace,
            url=url,
            events=events,
            description=description,
            headers=headers,
            secret=new_webhook_secret(),
            max_retries=max_retries,
            timeout_seconds=timeout_seconds,
        )


def update_webhook(
    *,
    webhook: WebhookEndpoint,
    url: str = UNSET,
    events: list[str] = UNSET,
    description: str = UNSET,
    headers: dict[str, str] | None = UNSET,
    max_retries: int = UNSET,
    timeout_seconds: int = UNSET,
    status: str = UNSET,
    rotate_secret: bool = False,
) -> WebhookEndpoint:
    """Change the given fields; `rotate_secret` issues a new secret (shown once by the caller)."""
    changes: dict[str, Any] = {}
    if url is not UNSET:
        changes["url"] = validate_webhook_url(url)
    if events is not UNSET:
        changes["events"] = _clean_events(events)
    if description is not UNSET:
        changes["description"] = _clean_description(description or "")
    if headers is not UNSET:
        changes["headers"] = _clean_headers(headers)
    if max_retries is not UNSET:
        changes["max_retries"] = _clean_max_retries(max_retries)
    if timeout_seconds is not UNSET:
        changes["timeout_seconds"] = _clean_timeout(timeout_seconds)
    if status is not UNSET:
        if status not in WebhookEndpoint.Status.values:
            raise ValidationFailed("Must be active or inactive.", field="status")
        changes["status"] = status
    if rotate_secret:
        changes["secret"] = new_webhook_secret()
    if not changes:
        return webhook
    changes["updated_at"] = timezone.now()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=webhook.pk).update(**changes)
    for name, value in changes.items():
        setattr(webhook, name, value)
    return webhook


def delete_webhook(*, webhook: WebhookEndpoint) -> None:
    """Remove the endpoint and its delivery log; queued attempts find nothing to send."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(endpoint=webhook).delete()
        WebhookEndpoint.objects.filter(pk=webhook.pk).delete()


def send_test_webhook(*, webhook: WebhookEndpoint, event: str = TEST_EVENT) -> WebhookDelivery:
    """Send a test event to the endpoint now and answer the recorded delivery.

    Runs the HTTP call in the caller (the API request), after the delivery row
    is committed. A test delivery is one attempt: it is never retried
    automatically, but can be retried by hand like any other.
    """
    if not isinstance(event, str) or event not in EVENT_TYPES:
        raise InvalidEvents(f"Unknown event: {event}.", field="event")
    now = timezone.now()
    if event == TEST_EVENT:
        data: dict[str, Any] = {
            "message": "A test event from the inbox: your endpoint is reachable.",
            "webhookId": webhook.public_id,
        }
    else:
        data = {"test": True, "event": event, "message": f"A test {event} event."}
    body = _payload(
        event_id=new_public_id("evt"),
        event=event,
        occurred_at=now,
        data=data,
        workspace_public_id=webhook.workspace.public_id,
        webhook_public_id=webhook.public_id,
    )
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            workspace_id=webhook.workspace_id,
            endpoint=webhook,
            event=event,
            is_test=True,
            request_body=body,
            next_attempt_at=now,
            # Claimed from birth: no task or sweep may send it as well.
            claimed_at=now,
            attempts=1,
            last_attempt_at=now,
            created_at=now,
        )
    delivery.endpoint = webhook
    _attempt(delivery, claimed_at=now, manual=True)
    return _reload(delivery.pk)


def retry_webhook_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now (any status but mid-attempt) and answer it.

    A manual retry is one attempt, sent whatever the conversation order: if it
    fails the delivery is `failed` and can be retried by hand again.
    """
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery.pk)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM_AFTER))
        .update(
            status=Status.PENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            completed_at=None,
        )
    )
    if not claimed:
        raise DeliveryInProgress()
    _attempt(_reload(delivery.pk), claimed_at=now, manual=True)
    return _reload(delivery.pk)


# --- The outbox dispatcher -----------------------------------------------------------


def _payload(
    *,
    event_id: str,
    event: str,
    occurred_at: datetime,
    data: Any,
    workspace_public_id: str,
    webhook_public_id: str,
) -> str:
    return json.dumps(
        {
            "id": event_id,
            "event": event,
            "timestamp": iso(occurred_at),
            "data": data,
            "meta": {"workspaceId": workspace_public_id, "webhookId": webhook_public_id},
        },
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def _subscribed(endpoint: WebhookEndpoint, event: str) -> bool:
    return "*" in endpoint.events or event in endpoint.events


def _take_dispatch_lock() -> bool:
    """One dispatcher at a time, so deliveries are created in event order.

    PostgreSQL: a transaction-scoped advisory lock; a second dispatcher leaves
    at once (the running one, or beat 30 s later, takes its events). SQLite
    has a single writer, and the unique constraint stops duplicates anyway.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [DISPATCH_LOCK_ID])
        return bool(cursor.fetchone()[0])


def dispatch_outbox(*, batch_size: int = DISPATCH_BATCH) -> int:
    """Fan undispatched outbox events out to deliveries; answers how many events it took."""
    taken = 0
    while True:
        with transaction.atomic():
            if not _take_dispatch_lock():
                return taken
            events = list(
                OutboxEvent.objects.select_related("workspace")
                .filter(dispatched_at__isnull=True)
                .order_by("id")[:batch_size]
            )
            if not events:
                return taken
            endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
            for endpoint in WebhookEndpoint.objects.filter(
                workspace_id__in={e.workspace_id for e in events},
                status=WebhookEndpoint.Status.ACTIVE,
            ).order_by("id"):
                endpoints[endpoint.workspace_id].append(endpoint)
            now = timezone.now()
            rows = [
                WebhookDelivery(
                    workspace_id=event.workspace_id,
                    endpoint=endpoint,
                    outbox_event=event,
                    event=event.event,
                    conversation_public_id=event.conversation_public_id,
                    request_body=_payload(
                        event_id=event.public_id,
                        event=event.event,
                        occurred_at=event.created_at,
                        data=event.data,
                        workspace_public_id=event.workspace.public_id,
                        webhook_public_id=endpoint.public_id,
                    ),
                    next_attempt_at=now,
                    created_at=now,
                )
                for event in events
                for endpoint in endpoints.get(event.workspace_id, ())
                if _subscribed(endpoint, event.event)
            ]
            # A delivery that exists already (a previous run crashed after
            # creating it) is skipped by the unique (endpoint, event) constraint.
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
            event_ids = [e.pk for e in events]
            OutboxEvent.objects.filter(pk__in=event_ids).update(dispatched_at=now)
            if rows:
                pks = list(
                    WebhookDelivery.objects.filter(
                        outbox_event_id__in=event_ids, status=Status.PENDING, attempts=0
                    )
                    .order_by("outbox_event_id", "id")
                    .values_list("pk", flat=True)
                )
                transaction.on_commit(partial(_queue_deliveries, pks))
        taken += len(events)
        if len(events) < batch_size:
            return taken


def _queue_deliveries(pks: list[int], countdown: float | None = None) -> None:
    from messaging.tasks import deliver_webhook_task

    for pk in pks:
        try:
            deliver_webhook_task.apply_async(args=[pk], countdown=countdown)
        except (OperationalError, OSError):  # the broker is down: the beat sweep sends it
            logger.warning("could not queue webhook delivery %s; the sweep will", pk)


def queue_due_webhook_deliveries(*, limit: int = 500) -> int:
    """Re-queue pending deliveries whose task was lost; answers how many (run by beat).

    Due retries a grace period past their time, attempts claimed by a worker
    that died, and deliveries parked behind an earlier one that is no longer
    pending (its completion kick was lost).
    """
    now = timezone.now()
    not_in_flight = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM_AFTER)
    earlier_pending = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        conversation_public_id=OuterRef("conversation_public_id"),
        status=Status.PENDING,
        outbox_event_id__lt=OuterRef("outbox_event_id"),
    )
    due = list(
        WebhookDelivery.objects.filter(status=Status.PENDING)
        .filter(not_in_flight)
        .alias(blocked=Exists(earlier_pending))
        .filter(
            Q(next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(next_attempt_at__isnull=True, blocked=False)
        )
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    _queue_deliveries(due)
    return len(due)


# --- One delivery --------------------------------------------------------------------


def _reload(pk: int) -> WebhookDelivery:
    return WebhookDelivery.objects.select_related("endpoint", "workspace").get(pk=pk)


def _earlier_pending(delivery: WebhookDelivery) -> bool:
    """Whether an earlier event of the same conversation still waits for this endpoint."""
    if not delivery.conversation_public_id or delivery.outbox_event_id is None:
        return False
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        conversation_public_id=delivery.conversation_public_id,
        status=Status.PENDING,
        outbox_event_id__lt=delivery.outbox_event_id,
    ).exists()


def deliver_webhook(*, delivery_pk: int) -> str:
    """Attempt one delivery if it is due and first in its conversation's line.

    Answers what happened: "sent", "retrying", "failed", or why nothing was
    sent ("missing", "done", "not-due", "waiting", "in-flight").
    """
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "workspace")
        .filter(pk=delivery_pk)
        .first()
    )
    if delivery is None:
        return "missing"
    if delivery.status != Status.PENDING:
        return "done"
    now = timezone.now()
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        # Early (eager mode ignores countdowns, brokers may redeliver):
        # the countdown task or the sweep comes back at the right time.
        return "not-due"
    if _earlier_pending(delivery):
        # Park it: the earlier delivery's completion queues it (or the sweep).
        WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Status.PENDING, claimed_at__isnull=True
        ).update(next_attempt_at=None)
        return "waiting"
    if delivery.endpoint.status != WebhookEndpoint.Status.ACTIVE:
        with transaction.atomic():
            updated = WebhookDelivery.objects.filter(
                pk=delivery.pk, status=Status.PENDING, claimed_at__isnull=True
            ).update(
                status=Status.FAILED,
                error="The webhook is inactive.",
                next_attempt_at=None,
                completed_at=now,
            )
            if updated:
                _queue_next_in_line(delivery)
        return "failed"
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM_AFTER))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(claimed_at=now, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return "in-flight"
    delivery.attempts += 1
    delivery.claimed_at = delivery.last_attempt_at = now
    return _attempt(delivery, claimed_at=now, manual=False)


def _request_headers(delivery: WebhookDelivery, body: bytes) -> dict[str, str]:
    endpoint = delivery.endpoint
    timestamp = int(time.time())
    return {
        **endpoint.headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Inbox-Event": delivery.event,
        "X-Inbox-Delivery-Id": delivery.public_id,
        "X-Inbox-Timestamp": str(timestamp),
        "X-Inbox-Signature": compute_signature(endpoint.secret, timestamp, body),
    }


def _attempt(delivery: WebhookDelivery, *, claimed_at: datetime, manual: bool) -> str:
    """Send a claimed delivery (no transaction open) and record the answer."""
    endpoint = delivery.endpoint
    body = delivery.request_body.encode()
    headers = _request_headers(delivery, body)
    try:
        # Checked again at every attempt: the name may resolve elsewhere now.
        destination = check_destination(endpoint.url)
    except InvalidWebhookUrl as exc:
        result = AttemptResult(False, None, "", f"Refused: {exc.message}", 0)
    else:
        result = post_json(destination, body, headers, timeout=endpoint.timeout_seconds)
    return _record_attempt(delivery, result, headers, claimed_at=claimed_at, manual=manual)


def _record_attempt(
    delivery: WebhookDelivery,
    result: AttemptResult,
    headers: dict[str, str],
    *,
    claimed_at: datetime,
    manual: bool,
) -> str:
    endpoint = delivery.endpoint
    fields: dict[str, Any] = {
        "claimed_at": None,
        "request_headers": headers,
        "response_status_code": result.status_code,
        "response_body": result.response_body,
        "error": result.error,
        "duration_ms": result.duration_ms,
    }
    gone = result.status_code == 410 and not delivery.is_test
    retries_left = delivery.attempts <= endpoint.max_retries
    if result.ok:
        outcome = "sent"
        fields.update(status=Status.SUCCEEDED, next_attempt_at=None, completed_at=timezone.now())
    elif not manual and not delivery.is_test and not gone and retries_left:
        outcome = "retrying"
        delay = RETRY_DELAYS[min(delivery.attempts, len(RETRY_DELAYS)) - 1]
        fields.update(status=Status.PENDING, next_attempt_at=claimed_at + delay)
    else:
        outcome = "failed"
        fields.update(status=Status.FAILED, next_attempt_at=None, completed_at=timezone.now())
    with transaction.atomic():
        # Only while our claim holds: a stale-claim takeover wins otherwise.
        recorded = WebhookDelivery.objects.filter(pk=delivery.pk, claimed_at=claimed_at).update(
            **fields
        )
        if not recorded:
            return "in-flight"
        if gone:
            # 410 Gone: the integration removed the endpoint; stop sending to it.
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                status=WebhookEndpoint.Status.INACTIVE, updated_at=timezone.now()
            )
        if outcome == "retrying":
            countdown = (fields["next_attempt_at"] - timezone.now()).total_seconds()
            transaction.on_commit(partial(_queue_deliveries, [delivery.pk], max(countdown, 0)))
        else:
            _queue_next_in_line(delivery)
    for name, value in fields.items():
        setattr(delivery, name, value)
    return outcome


def _queue_next_in_line(delivery: WebhookDelivery) -> None:
    """After a delivery ends, send the next pending one of its conversation (on commit)."""
    if not delivery.conversation_public_id or delivery.outbox_event_id is None:
        return
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            conversation_public_id=delivery.conversation_public_id,
            status=Status.PENDING,
            outbox_event_id__gt=delivery.outbox_event_id,
        )
        .order_by("outbox_event_id")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        transaction.on_commit(partial(_queue_deliveries, [following]))
