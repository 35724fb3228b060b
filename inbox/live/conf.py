"""Tunables of live updates, read from Django settings with these defaults.

Only `LIVE_UPDATES_REDIS_URL` comes from the environment (inbox/settings.py);
the rest are constants a deployment rarely needs to change, and tests
shorten them through the `settings` fixture.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Redis pub/sub channels are global to a Redis server (not per database
    # number), so the prefix keeps deployments sharing one server apart.
    "LIVE_UPDATES_CHANNEL_PREFIX": "inbox-live",
    # How often a stream without Redis looks for new outbox rows. The
    # embedded default's worker is another process: a signal in memory
    # would not reach the web process.
    "LIVE_UPDATES_POLL_SECONDS": 0.25,
    # A comment line this often keeps proxies from closing an idle stream.
    "LIVE_UPDATES_HEARTBEAT_SECONDS": 15.0,
    # Longest transaction expected between taking an outbox id and committing
    # it. A row may appear this long after a row with a larger id; streams
    # look back this far on resume and keep checking this long after activity.
    "LIVE_UPDATES_SETTLE_SECONDS": 10.0,
    # While rows may still appear behind the cursor, look again this often
    # even when nothing woke the stream.
    "LIVE_UPDATES_RECHECK_SECONDS": 1.0,
    # A resume more than this many events behind gets `reset` (reload your
    # data) instead of a replay.
    "LIVE_UPDATES_REPLAY_LIMIT": 1000,
    # Rows read per query while catching up.
    "LIVE_UPDATES_BATCH_SIZE": 200,
    # How often a stream re-checks that its session and membership still exist.
    "LIVE_UPDATES_REVALIDATE_SECONDS": 30.0,
    # A stream ends after this long and the browser reconnects at once with
    # Last-Event-ID: no thread is held forever, nothing is missed.
    "LIVE_UPDATES_MAX_STREAM_SECONDS": 1800.0,
    # Reconnection delay the browser is told to use (the SSE `retry:` field).
    "LIVE_UPDATES_RETRY_MS": 2000,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
