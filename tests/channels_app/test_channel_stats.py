"""Channel traffic: `channel_series` buckets and GET /channels/:id/stats.

Messages are placed at exact instants (rows updated after creation) against a
fixed `now`, so every bucket's expected count is known.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.selectors import bucket_starts, channel_activity, channel_series, truncate
from inbox.services import create_api_key
from messaging.models import Message
from messaging.services import receive_message, send_message
from tests.messaging.api.conftest import Api

NOW = datetime(2025, 3, 10, 14, 37, 25, tzinfo=UTC)


@pytest.fixture
def capi(workspace) -> Api:
    return Api(create_api_key(workspace=workspace, name="tests")[1])


def _inbound(channel, at: datetime, sender="+5511999999999") -> Message:
    message = receive_message(
        channel=channel, sender=sender, content={"type": "text", "text": "hi"}
    ).message
    Message.objects.filter(pk=message.pk).update(created_at=at)
    return message


def _outbound(conversation, *, created: datetime, sent: datetime | None, status="sent", **kw):
    message = send_message(
        workspace=conversation.workspace,
        conversation=conversation,
        content={"type": "text", "text": "hello"},
        **kw,
    )
    Message.objects.filter(pk=message.pk).update(created_at=created, sent_at=sent, status=status)
    return message


@pytest.fixture
def traffic(workspace, channel, make_channel, conversation):
    """Known traffic on `channel` around NOW, plus noise that must not count."""
    conversation.messages.all().delete()  # the fixture's own inbound message
    h = timedelta(hours=1)
    _inbound(channel, NOW - 2 * h - timedelta(minutes=5))  # 12:32 -> bucket 12:00
    _inbound(channel, NOW - 2 * h)  # 12:37:25 -> 12:00
    _inbound(channel, NOW - timedelta(minutes=1))  # 14:36 -> 14:00
    _outbound(conversation, created=NOW - 3 * h, sent=NOW - 3 * h + timedelta(seconds=2))  # 11:00
    _outbound(conversation, created=NOW - 90 * timedelta(minutes=1), sent=None, status="failed")
    # Noise: private notes are no traffic, older than 24 h is out, another channel is another.
    _outbound(conversation, created=NOW - h, sent=NOW - h, is_private=True)
    _inbound(channel, NOW - 25 * h)
    other = make_channel(workspace, "sms", name="Other")
    _inbound(other, NOW - h, sender="+5511977776666")
    return channel


def test_hourly_buckets_over_24h_are_zero_filled(traffic):
    series = channel_series(traffic, period=timedelta(hours=24), granularity="hour", now=NOW)
    buckets = series["buckets"]
    # [14:37 yesterday, 14:37 today] touches 25 hourly buckets.
    assert len(buckets) == 25
    assert buckets[0]["start"] == datetime(2025, 3, 9, 14, tzinfo=UTC)
    assert buckets[-1]["start"] == datetime(2025, 3, 10, 14, tzinfo=UTC)
    by_start = {b["start"].hour: b for b in buckets if b["start"].day == 10}
    assert (by_start[12]["received"], by_start[14]["received"]) == (2, 1)
    assert by_start[11]["sent"] == 1
    assert by_start[13]["failed"] == 1  # created 13:07
    assert sum(b["sent"] + b["received"] + b["failed"] for b in buckets) == 5
    assert buckets[5] == {
        "start": datetime(2025, 3, 9, 19, tzinfo=UTC),
        "sent": 0,
        "received": 0,
        "failed": 0,
    }
    assert series["totals"] == {"sent": 1, "received": 3, "failed": 1}
    assert (series["start"], series["end"]) == (NOW - timedelta(hours=24), NOW)


def test_totals_match_the_channels_24h_stats(traffic):
    series = channel_series(traffic, period=timedelta(hours=24), granularity="day", now=NOW)
    activity = channel_activity([traffic.pk], now=NOW)[traffic.pk]
    assert series["totals"] == {
        "sent": activity.sent,
        "received": activity.received,
        "failed": activity.failed,
    }
    assert [b["start"] for b in series["buckets"]] == [
        datetime(2025, 3, 9, tzinfo=UTC),
        datetime(2025, 3, 10, tzinfo=UTC),
    ]
    assert activity.last_sent_at == NOW - timedelta(hours=3) + timedelta(seconds=2)
    # The newest inbound of this channel; the other channel's is later and not ours.
    assert activity.last_received_at == NOW - timedelta(minutes=1)


def test_minute_buckets_over_an_hour(traffic):
    series = channel_series(traffic, period=timedelta(hours=1), granularity="minute", now=NOW)
    assert len(series["buckets"]) == 61
    [hit] = [b for b in series["buckets"] if b["received"]]
    assert hit["start"] == datetime(2025, 3, 10, 14, 36, tzinfo=UTC)
    assert series["totals"] == {"sent": 0, "received": 1, "failed": 0}


def test_a_week_by_day_includes_older_traffic(traffic):
    series = channel_series(traffic, period=timedelta(days=7), granularity="day", now=NOW)
    assert len(series["buckets"]) == 8
    assert series["totals"]["received"] == 4  # the 25-hour-old message is in
    assert series["buckets"][-2]["received"] == 1  # on 9 March


def test_bucket_helpers():
    assert truncate(NOW, "minute") == datetime(2025, 3, 10, 14, 37, tzinfo=UTC)
    assert truncate(NOW, "day") == datetime(2025, 3, 10, tzinfo=UTC)
    starts = bucket_starts(NOW - timedelta(hours=2), NOW, "hour")
    assert [s.hour for s in starts] == [12, 13, 14]


# --- the endpoint -------------------------------------------------------------------------


def test_the_endpoint_defaults_to_24h_by_hour(capi, channel, conversation):
    status, body = capi.get(f"/channels/{channel.public_id}/stats")
    assert status == 200, body
    data = body["data"]
    assert (data["channelId"], data["period"], data["granularity"]) == (
        channel.public_id,
        "24h",
        "hour",
    )
    assert len(data["buckets"]) == 25
    assert set(data["buckets"][0]) == {"start", "sent", "received", "failed"}
    assert data["buckets"][0]["start"].endswith(":00:00.000Z")
    assert data["buckets"][-1]["received"] == 1  # the fixture's message, just now
    assert data["totals"] == {"sent": 0, "received": 1, "failed": 0}


@pytest.mark.parametrize(
    ("period", "granularity", "buckets"),
    [("1h", "minute", 61), ("7d", "day", 8), ("30d", "day", 31), ("30d", "hour", 721)],
)
def test_the_endpoint_defaults_and_combinations(capi, channel, period, granularity, buckets):
    params = {"period": period}
    if granularity != {"1h": "minute", "24h": "hour"}.get(period, "day"):
        params["granularity"] = granularity
    status, body = capi.get(f"/channels/{channel.public_id}/stats", params)
    assert status == 200, body
    assert body["data"]["granularity"] == granularity
    # Both ends are truncated alike, so the count never depends on the moment.
    assert len(body["data"]["buckets"]) == buckets


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2h"}, "period"),
        ({"granularity": "second"}, "granularity"),
        ({"period": "24h", "granularity": "minute"}, "granularity"),  # 1441 buckets
        ({"period": "30d", "granularity": "minute"}, "granularity"),
    ],
)
def test_the_endpoint_refuses_bad_parameters(capi, channel, params, field):
    status, body = capi.get(f"/channels/{channel.public_id}/stats", params)
    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert body["error"]["details"][0]["field"] == field


def test_the_endpoint_runs_one_query_per_series(capi, channel, conversation):
    capi.get(f"/channels/{channel.public_id}/stats")
    with CaptureQueriesContext(connection) as ctx:
        status, _ = capi.get(f"/channels/{channel.public_id}/stats", {"period": "30d"})
    assert status == 200
    # 1 API key, 1 channel, 3 grouped series (sent, received, failed).
    assert len(ctx.captured_queries) == 5
