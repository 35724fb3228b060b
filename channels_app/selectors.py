"""Tenant-scoped reads of channels: the list, and their traffic (health and stats).

Single-channel lookups by id go through `messaging.selectors.get_channel_for`
(404 CHANNEL_NOT_FOUND for missing and foreign ids alike).

What counts, everywhere (`health`, `stats`, `GET /channels/:id/stats`):

- sent: outbound messages by `sent_at` (when the provider accepted them);
  private notes are not channel traffic and never count;
- received: inbound messages by `created_at` (when they arrived);
- failed: outbound messages now `failed`, by `created_at` (when they were
  sent for delivery). `created_at` never moves, so a past bucket only ever
  grows as retries give up, and editing or deleting a failed message later
  does not move it into today.

Deleted messages still count: the traffic happened. Buckets are aligned in
UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Trunc

from channels_app.models import Channel
from inbox.models import Workspace
from messaging.models import Message

OUT = Message.Direction.OUTBOUND
IN = Message.Direction.INBOUND

# The three series as (timestamp field, condition), shared by the 24-hour
# totals and the bucketed stats so both always agree.
SERIES: dict[str, tuple[str, Q]] = {
    "sent": ("sent_at", Q(direction=OUT, is_private=False)),
    "received": ("created_at", Q(direction=IN)),
    "failed": ("created_at", Q(direction=OUT, status=Message.Status.FAILED)),
}
HEALTH_WINDOW = timedelta(hours=24)
BUCKET_SIZES = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


def channels_for(workspace: Workspace) -> QuerySet[Channel]:
    """A workspace's channels; rendering needs nothing joined."""
    return Channel.objects.filter(workspace=workspace)


@dataclass(frozen=True)
class ChannelActivity:
    """A channel's traffic: what `health` and the 24-hour `stats` show."""

    last_sent_at: datetime | None = None
    last_received_at: datetime | None = None
    sent: int = 0
    received: int = 0
    failed: int = 0


def _in_window(field: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lte": end})


def channel_activity(
    channel_ids: list[int], *, now: datetime | None = None
) -> dict[int, ChannelActivity]:
    """Health and 24-hour totals of several channels in ONE grouped query.

    Channels without any message are absent from the answer; callers use
    `ChannelActivity()` for them.
    """
    if not channel_ids:
        return {}
    now = now or datetime.now(UTC)
    since = now - HEALTH_WINDOW
    totals = {
        name: Count("pk", filter=condition & _in_window(field, since, now))
        for name, (field, condition) in SERIES.items()
    }
    rows = (
        Message.objects.filter(channel_id__in=channel_ids)
        .values("channel_id")
        .annotate(
            last_sent_at=Max("sent_at", filter=SERIES["sent"][1]),
            last_received_at=Max("created_at", filter=SERIES["received"][1]),
            **totals,
        )
        # Without this the model's default ordering would join the GROUP BY.
        .order_by()
    )
    return {
        row.pop("channel_id"): ChannelActivity(**row)  # type: ignore[arg-type]
        for row in rows
    }


def truncate(moment: datetime, granularity: str) -> datetime:
    """The start of the UTC bucket holding `moment`."""
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if granularity in ("hour", "day"):
        moment = moment.replace(minute=0)
    if granularity == "day":
        moment = moment.replace(hour=0)
    return moment


def bucket_starts(start: datetime, end: datetime, granularity: str) -> list[datetime]:
    """Every aligned bucket start from the one holding `start` to the one holding `end`."""
    step = BUCKET_SIZES[granularity]
    first, last = truncate(start, granularity), truncate(end, granularity)
    count = int((last - first) / step) + 1
    return [first + i * step for i in range(count)]


def bucket_count(period: timedelta, granularity: str, now: datetime) -> int:
    step = BUCKET_SIZES[granularity]
    return int((truncate(now, granularity) - truncate(now - period, granularity)) / step) + 1


def channel_series(
    channel: Channel, *, period: timedelta, granularity: str, now: datetime | None = None
) -> dict[str, Any]:
    """Sent, received and failed counts per bucket over the last `period`.

    One grouped query per series (three in all), counted by the database with
    `Trunc`; buckets with no messages are filled with zeros here. The first and
    last buckets are partial: only `[now - period, now]` counts, so the totals
    equal the channel's `stats` for the same period.
    """
    now = now or datetime.now(UTC)
    start = now - period
    counts: dict[str, dict[datetime, int]] = {}
    for name, (field, condition) in SERIES.items():
        rows = (
            Message.objects.filter(condition, _in_window(field, start, now), channel=channel)
            .annotate(bucket=Trunc(field, granularity, tzinfo=UTC))
            .values("bucket")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts[name] = {row["bucket"].astimezone(UTC): row["n"] for row in rows}
    buckets = [
        {"start": at, **{name: counts[name].get(at, 0) for name in SERIES}}
        for at in bucket_starts(start, now, granularity)
    ]
    return {
        "start": start,
        "end": now,
        "buckets": buckets,
        "totals": {name: sum(counts[name].values()) for name in SERIES},
    }
