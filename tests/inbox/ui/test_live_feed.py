"""The outbox feed behind every live stream (`inbox.live.feed`).

It yields a workspace's events after a cursor and nothing else, replays
from a cursor, resets when the gap is too big, and finds rows that commit
behind the cursor (out-of-order commits on PostgreSQL).
"""

from __future__ import annotations

import pytest
from django.db import transaction

from inbox.live.feed import (
    Batch,
    Idle,
    OutboxCursor,
    Reset,
    Wait,
    follow,
    latest_event_id,
    outbox_feed,
)
from messaging.models import OutboxEvent
from tests.inbox.ui.live_support import emit, fast_live_fixture, fresh_bus_fixture  # noqa: F401


def next_batch(items) -> Batch:
    """The next Batch, skipping heartbeats (bounded, so a bug cannot hang the test)."""
    for _ in range(20):
        item = next(items)
        if isinstance(item, Batch):
            return item
        assert isinstance(item, Idle), item
    raise AssertionError("no batch after 20 heartbeats")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db(transaction=True)
def test_follow_yields_events_recorded_after_it_started(fast_live, workspace):
    emit(workspace)  # before: not part of "from now"
    items = follow(workspace.pk, None)
    assert isinstance(next(items), Idle)  # nothing yet: a heartbeat
    recorded = emit(workspace, 2, event="message.received")
    batch = next_batch(items)
    assert [e.id for e in batch.events] == [r.pk for r in recorded]
    assert batch.events[0].type == "message.received"
    assert batch.events[0].public_id == recorded[0].public_id
    items.close()


@pytest.mark.django_db
def test_follow_replays_every_event_after_the_cursor_in_order(fast_live, workspace):
    first, *rest = emit(workspace, 4)
    items = follow(workspace.pk, first.pk)
    batch = next_batch(items)
    assert [e.id for e in batch.events] == [r.pk for r in rest]
    items.close()


@pytest.mark.django_db
def test_follow_never_yields_another_workspaces_events(fast_live, workspace, other_workspace):
    start = latest_event_id()
    ours = []
    for _ in range(3):
        emit(other_workspace, 2)
        ours += emit(workspace)
    emit(other_workspace, 2)
    items = follow(workspace.pk, start)
    batch = next_batch(items)
    assert [e.id for e in batch.events] == [r.pk for r in ours]
    # Nothing else arrives: only heartbeats.
    assert isinstance(next(items), Idle)
    items.close()


@pytest.mark.django_db
def test_the_conversation_and_type_filters_narrow_the_feed(fast_live, workspace):
    start = latest_event_id()
    emit(workspace, event="message.received", conversation_public_id="conv_a")
    wanted = emit(workspace, event="message.received", conversation_public_id="conv_b")
    emit(workspace, event="conversation.updated", conversation_public_id="conv_b")
    emit(workspace, event="message.received", conversation_public_id="")
    feed = outbox_feed(
        workspace.pk, start, conversation_public_id="conv_b", event_types=["message.received"]
    )
    batch = next(feed)
    assert [e.id for e in batch.events] == [wanted[0].pk]
    # The wait starts after the newest row of the workspace, matching or not,
    # or the bus would wake the stream for rows it will never send.
    wait = next(feed)
    assert isinstance(wait, Wait)
    assert wait.after_id == latest_event_id()
    feed.close()


@pytest.mark.django_db
def test_a_gap_bigger_than_the_replay_limit_resets(fast_live, workspace):
    fast_live.LIVE_UPDATES_REPLAY_LIMIT = 5
    start = latest_event_id()
    emit(workspace, 6)
    feed = outbox_feed(workspace.pk, start)
    reset = next(feed)
    assert reset == Reset(id=latest_event_id(), reason="too-far-behind")
    # Then it follows from the newest event on: nothing is replayed.
    assert isinstance(next(feed), Wait)
    feed.close()


@pytest.mark.django_db
def test_a_gap_at_the_replay_limit_is_replayed(fast_live, workspace):
    fast_live.LIVE_UPDATES_REPLAY_LIMIT = 5
    start = latest_event_id()
    recorded = emit(workspace, 5)
    feed = outbox_feed(workspace.pk, start)
    batch = next(feed)
    assert [e.id for e in batch.events] == [r.pk for r in recorded]
    feed.close()


@pytest.mark.django_db
def test_a_cursor_from_the_future_resets(fast_live, workspace):
    emit(workspace)
    feed = outbox_feed(workspace.pk, latest_event_id() + 1000)
    assert next(feed) == Reset(id=latest_event_id(), reason="unknown-cursor")
    feed.close()


@pytest.mark.django_db
def test_catching_up_reads_batch_after_batch_without_waiting(fast_live, workspace):
    fast_live.LIVE_UPDATES_BATCH_SIZE = 4
    start = latest_event_id()
    emit(workspace, 9)
    feed = outbox_feed(workspace.pk, start)
    sizes = [len(next(feed).events) for _ in range(3)]
    assert sizes == [4, 4, 1]
    assert isinstance(next(feed), Wait)
    feed.close()


def _event_with_id(workspace, pk: int) -> OutboxEvent:
    # An explicit id plays a transaction that took its id earlier and
    # commits now (ids far above the sequence, so nothing collides).
    with transaction.atomic():
        return OutboxEvent.objects.create(pk=pk, workspace=workspace, event="test.ping", data={})


@pytest.mark.django_db
def test_a_row_committing_behind_the_cursor_is_still_delivered(settings, workspace):
    settings.LIVE_UPDATES_SETTLE_SECONDS = 10
    clock = FakeClock()
    base = latest_event_id() + 1_000_000
    cursor = OutboxCursor(workspace.pk, clock=clock)
    cursor.resume(base)
    _event_with_id(workspace, base + 1)
    _event_with_id(workspace, base + 3)
    assert [e.id for e in cursor.fetch()] == [base + 1, base + 3]
    assert cursor.window_open
    clock.now += 2
    # The transaction holding base + 2 commits only now.
    _event_with_id(workspace, base + 2)
    assert [e.id for e in cursor.fetch()] == [base + 2]
    # Delivered rows are not sent again.
    assert cursor.fetch() == []
    # Once the window has passed, the cursor forgets the ids it tracked.
    clock.now += 11
    assert cursor.fetch() == []
    assert not cursor.window_open
    assert cursor.floor == base + 3


@pytest.mark.django_db
def test_resuming_rereads_the_settle_window_below_the_cursor(settings, workspace):
    settings.LIVE_UPDATES_SETTLE_SECONDS = 10
    old = emit(workspace)
    OutboxEvent.objects.filter(pk=old[0].pk).update(
        created_at=old[0].created_at.replace(year=old[0].created_at.year - 1)
    )
    recent = emit(workspace, 3)
    after = emit(workspace)
    cursor = OutboxCursor(workspace.pk)
    assert cursor.resume(recent[-1].pk) is None
    # The client named recent[-1], so it has it; the two before it were
    # handed out moments earlier and may have committed after it: sent
    # again (the client drops repeats). The year-old event is not.
    assert [e.id for e in cursor.fetch()] == [recent[0].pk, recent[1].pk, after[0].pk]
