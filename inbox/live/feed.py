"""Follow a workspace's outbox from a cursor: the core of every live stream.

`outbox_feed(workspace_id, after_id, ...)` is a generator of what a stream
has to send (`Batch` of events, `Reset`, `Idle` for a heartbeat) and of
`Wait` instructions; a driver performs the waits on the bus: `drive` for
WSGI threads, `adrive` for ASGI (no thread held while waiting). It knows
nothing of agents or HTTP, so the website chat widget can follow one
conversation with the same code (`conversation_public_id`, `event_types`).

Outbox ids are taken at insert and committed later, so on PostgreSQL a row
can become visible after a row with a larger id (two transactions committing
in the opposite order). A plain `id > last_seen` would skip it forever. The
cursor therefore keeps the ids it delivered during the last
`LIVE_UPDATES_SETTLE_SECONDS` and re-reads that window (`floor` trails the
newest delivered id by that long). On resume (a reconnect's Last-Event-ID)
the same window is re-read below the cursor, so a reconnecting client may get
an event twice but never misses one: consumers key on the event id
(live.js drops repeats).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Collection, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.utils import timezone

from inbox.live import conf
from inbox.live.bus import Bus, get_bus, release_connection
from messaging.models import OutboxEvent

# Ids remembered inside the settle window at most; beyond it (thousands of
# events in seconds in one workspace) the oldest are treated as settled.
MAX_TRACKED_IDS = 5000


@dataclass(frozen=True, slots=True)
class LiveEvent:
    id: int
    type: str
    public_id: str
    conversation_public_id: str
    data: Any
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Batch:
    """Events to send, in id order."""

    events: tuple[LiveEvent, ...]


@dataclass(frozen=True, slots=True)
class Reset:
    """Too much was missed to replay: reload your data, then follow from `id`."""

    id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing was sent for a heartbeat interval."""


@dataclass(frozen=True, slots=True)
class Wait:
    """Instruction to the driver: block on the bus, then send back whether it woke."""

    workspace_id: int
    after_id: int
    timeout: float


FeedItem = Batch | Reset | Idle
T = TypeVar("T")


def latest_event_id() -> int:
    """The newest outbox id of any workspace: a cursor meaning "from now on"."""
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


class OutboxCursor:
    """Where a stream is in one workspace's outbox (see the module docstring)."""

    def __init__(
        self,
        workspace_id: int,
        *,
        conversation_public_id: str = "",
        event_types: Collection[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workspace_id = workspace_id
        self.conversation_public_id = conversation_public_id
        self.event_types = tuple(event_types) if event_types is not None else None
        self.clock = clock
        self.settle_seconds = float(conf.get("LIVE_UPDATES_SETTLE_SECONDS"))
        self.replay_limit = int(conf.get("LIVE_UPDATES_REPLAY_LIMIT"))
        self.batch_size = int(conf.get("LIVE_UPDATES_BATCH_SIZE"))
        # Every matching id <= floor was delivered or was before the start.
        self.floor = 0
        # The newest id of the workspace (matching or not) already looked at:
        # waits are for events after it.
        self.position = 0
        # Ids > floor already delivered, with when (clock) they were.
        self._delivered: dict[int, float] = {}

    @property
    def filtered(self) -> bool:
        return bool(self.conversation_public_id) or self.event_types is not None

    @property
    def window_open(self) -> bool:
        """Whether a row may still appear behind the newest delivered one."""
        return bool(self._delivered)

    def _rows(self) -> QuerySet[OutboxEvent]:
        rows = OutboxEvent.objects.filter(workspace_id=self.workspace_id)
        if self.conversation_public_id:
            rows = rows.filter(conversation_public_id=self.conversation_public_id)
        if self.event_types is not None:
            rows = rows.filter(event__in=self.event_types)
        return rows

    def _settled_below(self, anchor_id: int, anchor_time: datetime) -> int:
        """The newest id <= anchor_id older than the settle window before `anchor_time`.

        Rows above it may have committed after `anchor_id` was handed out;
        they are read again on resume.
        """
        if self.settle_seconds <= 0:
            return anchor_id
        threshold = anchor_time - timedelta(seconds=self.settle_seconds)
        return (
            OutboxEvent.objects.filter(id__lte=anchor_id, created_at__lt=threshold)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        ) or 0

    def resume(self, after_id: int | None) -> Reset | None:
        """Start after `after_id` (None: from now). A `Reset` if that cannot be replayed."""
        latest = latest_event_id()
        if after_id is not None and after_id > latest:
            # A cursor from the future: the database was replaced since.
            return self._reset(latest, "unknown-cursor")
        if after_id is None:
            # "From now", still re-reading the settle window: the page was
            # rendered a moment ago and rows may commit behind `latest`.
            self.floor = self._settled_below(latest, timezone.now())
            self.position = latest
            return None
        # The cursor's row may be any workspace's (a page's `after` is the
        # global newest id): only its time is read, never its content.
        anchor_time = (
            OutboxEvent.objects.filter(id=after_id).values_list("created_at", flat=True).first()
            or timezone.now()
        )
        self.floor = self._settled_below(after_id, anchor_time)
        self.position = after_id
        if self.floor < after_id:
            # The client has the event it names; the rest of the window it may lack.
            self._delivered[after_id] = self.clock()
        too_many = (
            self._rows()
            .filter(id__gt=self.floor)
            .order_by("id")[self.replay_limit : self.replay_limit + 1]
        )
        if too_many.exists():
            return self._reset(latest, "too-far-behind")
        return None

    def _reset(self, latest: int, reason: str) -> Reset:
        self.floor = self._settled_below(latest, timezone.now())
        self.position = latest
        self._delivered.clear()
        return Reset(id=latest, reason=reason)

    def fetch(self) -> list[LiveEvent]:
        """The next matching rows not delivered yet, oldest first (one query, at most a batch)."""
        now = self.clock()
        rows = self._rows().filter(id__gt=self.floor)
        if self._delivered:
            rows = rows.exclude(id__in=list(self._delivered))
        values = list(
            rows.order_by("id").values(
                "id", "event", "public_id", "conversation_public_id", "data", "created_at"
            )[: self.batch_size]
        )
        events = [
            LiveEvent(
                id=row["id"],
                type=row["event"],
                public_id=row["public_id"],
                conversation_public_id=row["conversation_public_id"],
                data=row["data"],
                created_at=row["created_at"],
            )
            for row in values
        ]
        for event in events:
            self._delivered[event.id] = now
        if self.filtered and len(events) < self.batch_size:
            # Rows of the workspace that did not match still move the wait
            # position, or the bus would keep waking the stream for them.
            newest = (
                OutboxEvent.objects.filter(workspace_id=self.workspace_id)
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
            self.position = max(self.position, newest or 0)
        self.position = max(self.position, self.floor, max(self._delivered, default=0))
        self._settle(now)
        return events

    def _settle(self, now: float) -> None:
        # An id delivered a settle window ago: every smaller id was handed
        # out before it, so those transactions are over; floor may pass it.
        threshold = now - self.settle_seconds
        settled = [event_id for event_id, at in self._delivered.items() if at <= threshold]
        if settled:
            self.floor = max(self.floor, *settled)
        if len(self._delivered) > MAX_TRACKED_IDS:
            ids = sorted(self._delivered)
            self.floor = max(self.floor, ids[-MAX_TRACKED_IDS - 1])
        if settled or len(self._delivered) > MAX_TRACKED_IDS:
            self._delivered = {i: at for i, at in self._delivered.items() if i > self.floor}


def outbox_feed(
    workspace_id: int,
    after_id: int | None,
    *,
    conversation_public_id: str = "",
    event_types: Collection[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Generator[FeedItem | Wait, bool | None, None]:
    """Follow a workspace's outbox after `after_id` (None: from now), forever.

    The starting point is fixed here, when called (a few queries), not at
    the first `next`: "from now" means when the page connected, however
    late the stream is read. The generator yields a `Reset` first if the
    cursor cannot be replayed, then `Batch`es as events commit, `Idle` after
    a heartbeat interval without any, and `Wait` whenever there is nothing
    to read (drive it with `drive`/`adrive`).
    """
    cursor = OutboxCursor(
        workspace_id,
        conversation_public_id=conversation_public_id,
        event_types=event_types,
        clock=clock,
    )
    reset = cursor.resume(after_id)
    return _run(cursor, reset, clock)


def _run(
    cursor: OutboxCursor, reset: Reset | None, clock: Callable[[], float]
) -> Generator[FeedItem | Wait, bool | None, None]:
    if reset is not None:
        yield reset
    heartbeat = float(conf.get("LIVE_UPDATES_HEARTBEAT_SECONDS"))
    recheck = float(conf.get("LIVE_UPDATES_RECHECK_SECONDS"))
    quiet_since = clock()
    while True:
        events = cursor.fetch()
        if events:
            yield Batch(tuple(events))
            quiet_since = clock()
            if len(events) >= cursor.batch_size:
                continue  # catching up: read on without waiting
        elif clock() - quiet_since >= heartbeat:
            yield Idle()
            quiet_since = clock()
        timeout = max(0.0, heartbeat - (clock() - quiet_since))
        if cursor.window_open:
            # A bus signal only covers ids after `position`; a row committing
            # behind it is found by looking again.
            timeout = min(timeout, recheck)
        release_connection()
        yield Wait(cursor.workspace_id, cursor.position, timeout)


def drive(stream: Generator[T | Wait, bool | None, None], bus: Bus | None = None) -> Iterator[T]:
    """Run a feed (or a stream built on one) in this thread, blocking on the bus."""
    bus = bus or get_bus()
    bus.start()
    woke: bool | None = None
    try:
        while True:
            try:
                item = stream.send(woke)
            except StopIteration:
                return
            if isinstance(item, Wait):
                woke = bus.wait(item.workspace_id, item.after_id, item.timeout)
            else:
                woke = None
                yield item
    finally:
        stream.close()


_END = object()


def _step(stream: Generator[Any, Any, None], value: Any) -> Any:
    try:
        return stream.send(value)
    except StopIteration:
        return _END
    finally:
        # Steps run on a shared pool thread: hand its connection back.
        release_connection()


def _close(stream: Generator[Any, Any, None]) -> None:
    try:
        # ValueError: a step cancelled mid-way (the client left) is still
        # running in its thread; the generator is collected when it ends.
        with contextlib.suppress(ValueError):
            stream.close()
    finally:
        release_connection()


async def adrive(
    stream: Generator[T | Wait, bool | None, None], bus: Bus | None = None
) -> AsyncIterator[T]:
    """Run a feed under ASGI: database steps in a pool thread, waits on the event loop.

    Django serves a synchronous iterator under ASGI by reading it to the end
    first, which an endless stream never reaches; this is the asynchronous
    iterator it needs.
    """
    bus = bus or get_bus()
    step = sync_to_async(_step, thread_sensitive=False)
    await sync_to_async(bus.start, thread_sensitive=False)()
    woke: bool | None = None
    try:
        while True:
            item = await step(stream, woke)
            if item is _END:
                return
            if isinstance(item, Wait):
                woke = await bus.wait_async(item.workspace_id, item.after_id, item.timeout)
            else:
                woke = None
                yield item
    finally:
        await sync_to_async(_close, thread_sensitive=False)(stream)


def follow(
    workspace_id: int,
    after_id: int | None,
    *,
    conversation_public_id: str = "",
    event_types: Collection[str] | None = None,
    bus: Bus | None = None,
) -> Iterator[FeedItem]:
    """Blocking iterator of a workspace's events after `after_id` (None: from now)."""
    return drive(
        outbox_feed(
            workspace_id,
            after_id,
            conversation_public_id=conversation_public_id,
            event_types=event_types,
        ),
        bus,
    )
