"""Wake-up signals for live streams: "workspace W has a new event, id N".

The outbox table is the source of truth; the bus only says when to look.
A lost signal costs latency, never an event: streams also re-read the
outbox on a timer.

Two backends with one interface (`notify`, `wait`, `wait_async`, `start`):

- `RedisBus` (production, several web and worker processes): `notify`
  publishes on `<prefix>:<workspace id>`; one listener thread per process
  pattern-subscribes to `<prefix>:*` and wakes that process's waiters, so an
  idle stream holds no Redis connection of its own. While Redis is
  unreachable, waiters fall back to polling the outbox.
- `PollBus` (the embedded default: runserver plus a Celery worker in another
  process on SQLite): waiters query the outbox for `id > after_id` every
  `LIVE_UPDATES_POLL_SECONDS`; events committed in the same process wake
  them at once.

`notify_on_commit` is what `messaging.events.record_event` calls: one
signal per workspace per transaction, sent only if the transaction commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Protocol

from asgiref.sync import sync_to_async
from django.db import connection, transaction

from inbox.live import conf

logger = logging.getLogger(__name__)


class Bus(Protocol):
    def start(self) -> None:
        """Be ready to receive signals before a stream's first read."""

    def notify(self, workspace_id: int, event_id: int) -> None:
        """Say that `event_id` of `workspace_id` has committed. Never raises."""

    def wait(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        """Block until an event newer than `after_id` may exist, or `timeout`.

        True when woken (a new event, or any signal for the workspace),
        False on timeout. Callers re-read the outbox either way.
        """

    async def wait_async(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        """`wait` for ASGI: holds no thread while waiting."""


def release_connection() -> None:
    """Give the database connection back while a stream waits.

    An idle stream must not hold a connection for minutes (PostgreSQL's
    connection limit). Inside an atomic block (a test's transaction) closing
    would break the transaction, so the connection stays.
    """
    if not connection.in_atomic_block:
        connection.close()


class _Signals:
    """In-process wake-ups per workspace, for threads and event loops alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conditions: dict[int, threading.Condition] = {}
        self._latest: dict[int, int] = {}
        self._generation: dict[int, int] = {}
        self._async_waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def _condition(self, workspace_id: int) -> threading.Condition:
        condition = self._conditions.get(workspace_id)
        if condition is None:
            condition = self._conditions[workspace_id] = threading.Condition(self._lock)
        return condition

    def signal(self, workspace_id: int, event_id: int) -> None:
        with self._lock:
            self._latest[workspace_id] = max(self._latest.get(workspace_id, 0), event_id)
            self._generation[workspace_id] = self._generation.get(workspace_id, 0) + 1
            self._condition(workspace_id).notify_all()
            waiters = list(self._async_waiters.get(workspace_id, ()))
        for loop, event in waiters:
            # RuntimeError: that loop has closed, and its waiter with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def wait(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        with self._lock:
            if self._latest.get(workspace_id, 0) > after_id:
                return True
            generation = self._generation.get(workspace_id, 0)
            return self._condition(workspace_id).wait_for(
                lambda: self._generation.get(workspace_id, 0) != generation, timeout
            )

    async def wait_async(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        event = asyncio.Event()
        key = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._latest.get(workspace_id, 0) > after_id:
                return True
            self._async_waiters.setdefault(workspace_id, set()).add(key)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._async_waiters.get(workspace_id, set()).discard(key)


def _outbox_has_newer(workspace_id: int, after_id: int) -> bool:
    from messaging.models import OutboxEvent

    try:
        return OutboxEvent.objects.filter(workspace_id=workspace_id, id__gt=after_id).exists()
    finally:
        release_connection()


class PollBus:
    """Polls the outbox: works across processes on any database, no server."""

    def __init__(self, *, interval: float | None = None, signals: _Signals | None = None) -> None:
        self.interval = interval if interval is not None else conf.get("LIVE_UPDATES_POLL_SECONDS")
        self._signals = signals or _Signals()

    def start(self) -> None:
        return None

    def notify(self, workspace_id: int, event_id: int) -> None:
        self._signals.signal(workspace_id, event_id)

    def wait(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if _outbox_has_newer(workspace_id, after_id):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._signals.wait(workspace_id, after_id, min(self.interval, remaining)):
                return True

    async def wait_async(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        check = sync_to_async(_outbox_has_newer, thread_sensitive=False)
        while True:
            if await check(workspace_id, after_id):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            woke = await self._signals.wait_async(
                workspace_id, after_id, min(self.interval, remaining)
            )
            if woke:
                return True


class RedisBus:
    """Redis pub/sub: a commit in any process wakes streams in every process."""

    # How long the first `start` waits for the subscription before streams
    # carry on polling (Redis down must not stall page loads).
    READY_TIMEOUT = 1.0

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        import redis

        self.url = url
        self.prefix = prefix if prefix is not None else conf.get("LIVE_UPDATES_CHANNEL_PREFIX")
        self._redis = redis
        # Short timeouts: `notify` runs right after a commit, in the request
        # or task that made the change; a hung Redis must not hang it.
        self._publisher = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._signals = _Signals()
        self._fallback = PollBus(signals=self._signals)
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._listener: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def channel(self, workspace_id: int) -> str:
        return f"{self.prefix}:{workspace_id}"

    def start(self) -> None:
        with self._start_lock:
            first = self._listener is None or not self._listener.is_alive()
            if first:
                self._stopped.clear()
                self._listener = threading.Thread(
                    target=self._listen, name="live-updates-redis", daemon=True
                )
                self._listener.start()
        if first:
            self._ready.wait(self.READY_TIMEOUT)

    def stop(self) -> None:
        """End the listener thread (tests; processes just exit)."""
        self._stopped.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._ready.clear()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def notify(self, workspace_id: int, event_id: int) -> None:
        # Streams of this process need no round trip (and keep working
        # while Redis is down).
        self._signals.signal(workspace_id, event_id)
        try:
            self._publisher.publish(self.channel(workspace_id), str(event_id))
        except (self._redis.RedisError, OSError):
            logger.warning("live updates: could not publish to Redis; streams will poll")

    def wait(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        self.start()
        if not self._ready.is_set():
            return self._fallback.wait(workspace_id, after_id, timeout)
        return self._signals.wait(workspace_id, after_id, timeout)

    async def wait_async(self, workspace_id: int, after_id: int, timeout: float) -> bool:
        if self._listener is None or not self._listener.is_alive():
            await sync_to_async(self.start, thread_sensitive=False)()
        if not self._ready.is_set():
            return await self._fallback.wait_async(workspace_id, after_id, timeout)
        return await self._signals.wait_async(workspace_id, after_id, timeout)

    def _listen(self) -> None:
        backoff = 0.5
        pattern = f"{self.prefix}:*"
        while not self._stopped.is_set():
            pubsub = None
            try:
                client = self._redis.Redis.from_url(
                    self.url, socket_connect_timeout=2.0, health_check_interval=30
                )
                pubsub = client.pubsub()
                pubsub.psubscribe(pattern)
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        self._ready.set()
                        backoff = 0.5
                    elif message["type"] == "pmessage":
                        self._deliver(message["channel"], message["data"])
            except (self._redis.RedisError, OSError) as exc:
                if self._ready.is_set():
                    logger.warning("live updates: lost Redis (%s); streams poll meanwhile", exc)
                self._ready.clear()
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(self._redis.RedisError, OSError):
                        pubsub.close()
        self._ready.clear()

    def _deliver(self, channel: bytes, data: bytes) -> None:
        try:
            workspace_id = int(channel.rsplit(b":", 1)[1])
            event_id = int(data)
        except (IndexError, ValueError):
            return
        self._signals.signal(workspace_id, event_id)


_bus: Bus | None = None
_bus_key: tuple[str, str] | None = None
_bus_lock = threading.Lock()


def get_bus() -> Bus:
    """The process's bus, per the settings (rebuilt if tests change them)."""
    from django.conf import settings

    global _bus, _bus_key
    url = getattr(settings, "LIVE_UPDATES_REDIS_URL", "") or ""
    key = (url, conf.get("LIVE_UPDATES_CHANNEL_PREFIX"))
    with _bus_lock:
        if _bus is None or _bus_key != key:
            old = _bus
            _bus = RedisBus(url) if url else PollBus()
            _bus_key = key
            if isinstance(old, RedisBus):
                old.stop()
        return _bus


def notify_on_commit(workspace_id: int, event_id: int) -> None:
    """Signal the bus once the current transaction commits.

    One callback per transaction (per savepoint level) carries the highest
    id per workspace, so a service recording many events sends one signal.
    A rolled-back transaction signals nothing.
    """
    conn = transaction.get_connection()
    savepoints = set(conn.savepoint_ids)
    for entry in getattr(conn, "run_on_commit", ()):
        entry_savepoints, callback = entry[0], entry[1]
        pending = getattr(callback, "live_pending", None)
        if pending is not None and entry_savepoints == savepoints:
            pending[workspace_id] = max(pending.get(workspace_id, 0), event_id)
            return
    pending: dict[int, int] = {workspace_id: event_id}

    def notify_live_streams() -> None:
        bus = get_bus()
        for ws_id, last_id in pending.items():
            bus.notify(ws_id, last_id)

    notify_live_streams.live_pending = pending  # type: ignore[attr-defined]
    # robust: a failing signal must not break the caller after its commit.
    transaction.on_commit(notify_live_streams, robust=True)
