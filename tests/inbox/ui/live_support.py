"""Helpers for the live-updates tests: read an SSE stream, record events, reset the bus."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction

from inbox.live import bus as live_bus
from inbox.models import Workspace
from messaging.events import record_event
from messaging.models import OutboxEvent


@dataclass
class SseMessage:
    event: str = "message"
    data: str = ""
    id: str | None = None
    comment: str | None = None
    retry: int | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseReader:
    """Parses a streaming response's chunks into SSE messages, as EventSource does."""

    chunks: Iterator[bytes]
    buffer: str = ""
    received: list[SseMessage] = field(default_factory=list)
    ended: bool = False
    # Messages before this index were passed over by `read_until` already.
    consumed: int = 0

    def _parse_block(self, block: str) -> SseMessage | None:
        message = SseMessage()
        data_lines: list[str] = []
        meaningful = False
        for line in block.split("\n"):
            if line.startswith(":"):
                message.comment = line[1:].strip()
                meaningful = True
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data_lines.append(value)
                meaningful = True
            elif name == "event":
                message.event = value
            elif name == "id":
                message.id = value
                meaningful = True
            elif name == "retry":
                message.retry = int(value)
                meaningful = True
        message.data = "\n".join(data_lines)
        return message if meaningful else None

    def read_until(
        self, predicate: Callable[[SseMessage], bool], timeout: float = 5.0
    ) -> SseMessage:
        """The next message (after those already passed over) that matches.

        Reads on until one matches or `timeout` passes (fails the test).
        Each chunk arrives within a heartbeat interval, so the deadline is
        checked often enough when the tests set a short heartbeat.
        """
        deadline = time.monotonic() + timeout
        while self.consumed < len(self.received):
            message = self.received[self.consumed]
            self.consumed += 1
            if predicate(message):
                return message
        while time.monotonic() < deadline:
            while "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                message = self._parse_block(block)
                if message is None:
                    continue
                self.received.append(message)
                self.consumed = len(self.received)
                if predicate(message):
                    return message
            try:
                chunk = next(self.chunks)
            except StopIteration:
                self.ended = True
                break
            self.buffer += chunk.decode("utf-8")
        raise AssertionError(
            f"no matching SSE message within {timeout}s; got "
            f"{[(m.event, m.id, m.comment) for m in self.received]}"
        )

    def events(self, event: str) -> list[SseMessage]:
        return [m for m in self.received if m.event == event]

    def read_to_end(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.buffer += next(self.chunks).decode("utf-8")
            except StopIteration:
                self.ended = True
                break
        while "\n\n" in self.buffer:
            block, self.buffer = self.buffer.split("\n\n", 1)
            message = self._parse_block(block)
            if message is not None:
                self.received.append(message)
        assert self.ended, "the stream did not end"


def hang_up(response: Any) -> None:
    """Close a stream the way a browser leaving the page does: the generator is closed.

    Not `response.close()`: the test client's wrapper around the stream
    re-attaches `close_old_connections` to `request_finished` before
    `response.close()` sends it, which would close the test's database
    connection inside its transaction. Closing the wrapper (as the server
    does when the iteration ends) steps around that.
    """
    response._iterator.close()


def emit(
    workspace: Workspace,
    count: int = 1,
    *,
    event: str = "test.ping",
    conversation_public_id: str = "",
    data: dict[str, Any] | None = None,
) -> list[OutboxEvent]:
    """Record events through the real write path (one transaction)."""
    with transaction.atomic():
        return [
            record_event(
                workspace=workspace,
                event=event,
                data=data or {"n": index},
                conversation_public_id=conversation_public_id,
            )
            for index in range(count)
        ]


# Registered under their names by the test modules that import them; the
# function names differ so the import does not shadow the test parameters.
@pytest.fixture(name="fresh_bus")
def fresh_bus_fixture():
    """Each test builds its bus from its own settings and stops it afterwards."""
    live_bus._bus = None
    live_bus._bus_key = None
    yield
    old = live_bus._bus
    live_bus._bus = None
    live_bus._bus_key = None
    if isinstance(old, live_bus.RedisBus):
        old.stop()


@pytest.fixture(name="fast_live")
def fast_live_fixture(settings, fresh_bus):
    """Short intervals and the polling bus, so streams answer within a test's patience."""
    settings.LIVE_UPDATES_REDIS_URL = ""
    settings.LIVE_UPDATES_POLL_SECONDS = 0.05
    settings.LIVE_UPDATES_HEARTBEAT_SECONDS = 0.3
    settings.LIVE_UPDATES_RECHECK_SECONDS = 0.1
    settings.LIVE_UPDATES_SETTLE_SECONDS = 0
    return settings
