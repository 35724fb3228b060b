"""The live-updates bus: polling backend, Redis pub/sub backend, and the commit hook.

The Redis tests use the real server at 127.0.0.1:6379 (TEST_LIVE_REDIS_URL)
and a channel prefix of their own, so parallel runs never wake each other.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import transaction

from inbox.live.bus import PollBus, RedisBus, get_bus
from inbox.live.feed import latest_event_id
from messaging.events import record_event
from tests.inbox.ui.live_support import emit, fast_live_fixture, fresh_bus_fixture  # noqa: F401

REDIS_URL = os.environ.get("TEST_LIVE_REDIS_URL", "redis://127.0.0.1:6379/15")


def in_thread(target, *args):
    """Run `target(*args)` in a thread; returns (thread, result holder with timing)."""
    result: dict = {}

    def run():
        started = time.monotonic()
        result["value"] = target(*args)
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.fixture
def redis_pair():
    """Two buses on one prefix: two processes' worth, sharing nothing but Redis."""
    prefix = f"test-live-{uuid.uuid4().hex[:10]}"
    publisher, listener = RedisBus(REDIS_URL, prefix=prefix), RedisBus(REDIS_URL, prefix=prefix)
    yield publisher, listener
    publisher.stop()
    listener.stop()


# --- Polling backend ------------------------------------------------------------


@pytest.mark.django_db
def test_poll_bus_wakes_when_the_outbox_has_a_newer_row(workspace):
    start = latest_event_id()
    bus = PollBus(interval=0.05)
    started = time.monotonic()
    assert bus.wait(workspace.pk, start, 0.3) is False
    assert time.monotonic() - started >= 0.3
    emit(workspace)
    assert bus.wait(workspace.pk, start, 5) is True


@pytest.mark.django_db
def test_poll_bus_ignores_other_workspaces_rows(workspace, other_workspace):
    start = latest_event_id()
    emit(other_workspace)
    assert PollBus(interval=0.05).wait(workspace.pk, start, 0.2) is False


@pytest.mark.django_db(transaction=True)
def test_a_notify_in_this_process_wakes_a_waiter_before_the_next_poll(workspace):
    bus = PollBus(interval=30)  # a poll would take 30 s: only the signal can be this quick
    start = latest_event_id()
    thread, result = in_thread(bus.wait, workspace.pk, start, 10)
    time.sleep(0.2)
    bus.notify(workspace.pk, start + 1)
    thread.join(5)
    assert result["value"] is True
    assert result["elapsed"] < 1


# --- The commit hook ----------------------------------------------------------------


@pytest.mark.django_db
def test_one_signal_per_transaction_carries_the_newest_id_per_workspace(
    fast_live, workspace, other_workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        ours = [record_event(workspace=workspace, event="test.ping", data={}) for _ in range(3)]
        theirs = record_event(workspace=other_workspace, event="test.ping", data={})
    live = [cb for cb in callbacks if hasattr(cb, "live_pending")]
    assert len(live) == 1
    assert live[0].live_pending == {workspace.pk: ours[-1].pk, other_workspace.pk: theirs.pk}
    signals = get_bus()._signals
    assert signals.wait(workspace.pk, ours[-1].pk - 1, 0) is True
    assert signals.wait(workspace.pk, ours[-1].pk, 0) is False


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_signals_nothing(fast_live, workspace):
    bus = get_bus()
    before = latest_event_id()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        record_event(workspace=workspace, event="test.ping", data={})
        raise Boom
    assert bus._signals.wait(workspace.pk, before, 0) is False
    (committed,) = emit(workspace)
    assert bus._signals.wait(workspace.pk, committed.pk - 1, 0) is True


# --- Redis backend ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_redis_notify_from_one_bus_wakes_a_waiter_on_another(redis_pair, workspace):
    publisher, listener = redis_pair
    listener.start()
    assert listener.ready
    thread, result = in_thread(listener.wait, workspace.pk, 41, 10)
    time.sleep(0.2)
    publisher.notify(workspace.pk, 42)
    thread.join(5)
    assert result["value"] is True
    assert result["elapsed"] < 1


@pytest.mark.django_db(transaction=True)
def test_redis_signals_of_another_workspace_do_not_wake(redis_pair, workspace, other_workspace):
    publisher, listener = redis_pair
    listener.start()
    thread, result = in_thread(listener.wait, workspace.pk, 0, 0.6)
    time.sleep(0.1)
    publisher.notify(other_workspace.pk, 99)
    thread.join(5)
    assert result["value"] is False


@pytest.mark.django_db(transaction=True)
def test_redis_other_deployments_prefix_does_not_wake(redis_pair, workspace):
    _, listener = redis_pair
    stranger = RedisBus(REDIS_URL, prefix=f"other-{uuid.uuid4().hex[:8]}")
    listener.start()
    thread, result = in_thread(listener.wait, workspace.pk, 0, 0.6)
    time.sleep(0.1)
    stranger.notify(workspace.pk, 5)
    thread.join(5)
    stranger.stop()
    assert result["value"] is False


@pytest.mark.django_db(transaction=True)
def test_redis_wait_async_wakes_on_the_event_loop(redis_pair, workspace):
    publisher, listener = redis_pair
    listener.start()

    async def scenario():
        waiter = asyncio.create_task(listener.wait_async(workspace.pk, 6, 10))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(publisher.notify, workspace.pk, 7)
        started = time.monotonic()
        woke = await waiter
        return woke, time.monotonic() - started

    woke, elapsed = asyncio.run(scenario())
    assert woke is True
    assert elapsed < 1


@pytest.mark.django_db(transaction=True)
def test_without_redis_notify_does_not_raise_and_waiters_poll_the_outbox(workspace):
    bus = RedisBus("redis://127.0.0.1:1/0", prefix="unreachable")  # nothing listens there
    try:
        start = latest_event_id()
        bus.notify(workspace.pk, start + 1)  # logged, not raised
        assert not bus.ready
        assert bus.wait(workspace.pk, start + 1, 0.3) is False
        (row,) = emit(workspace)
        assert bus.wait(workspace.pk, row.pk - 1, 5) is True
    finally:
        bus.stop()


def test_settings_choose_the_backend(settings, fresh_bus):
    settings.LIVE_UPDATES_REDIS_URL = ""
    assert isinstance(get_bus(), PollBus)
    settings.LIVE_UPDATES_REDIS_URL = REDIS_URL
    bus = get_bus()
    assert isinstance(bus, RedisBus) and bus.url == REDIS_URL
    assert get_bus() is bus  # one per process


def test_the_redis_url_defaults_to_a_redis_cache_url():
    root = Path(__file__).resolve().parents[3]
    code = "from django.conf import settings; print(repr(settings.LIVE_UPDATES_REDIS_URL))"

    def setting(**env: str) -> str:
        clean = {
            k: v
            for k, v in os.environ.items()
            if k not in ("CACHE_URL", "LIVE_UPDATES_REDIS_URL", "DATABASE_URL")
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=root,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    assert setting() == "''"
    assert setting(CACHE_URL="redis://cache:6379/1") == "'redis://cache:6379/1'"
    assert (
        setting(CACHE_URL="redis://cache:6379/1", LIVE_UPDATES_REDIS_URL="redis://bus:6379/2")
        == "'redis://bus:6379/2'"
    )
