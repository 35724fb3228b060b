"""Fixed-window rate limits per API key (per client IP before authentication).

Counters live in the Django cache: process memory in the embedded default,
Redis in production (`CACHE_URL`), so every web process shares them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # unix time when the window ends

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset),
        }


def hit(identity: str, *, limit: int | None = None, window: int | None = None) -> RateState:
    """Count one request for `identity` and answer the state of its window."""
    limit = limit or settings.API_RATE_LIMIT
    window = window or settings.API_RATE_WINDOW_SECONDS
    now = int(time.time())
    window_start = now - now % window
    key = f"rl:{identity}:{window_start}"
    # add() is atomic and only sets a missing key; incr() is atomic in Redis
    # and under the local-memory cache's lock.
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 5)
        count = 1
    return RateState(limit=limit, remaining=limit - count, reset=window_start + window)
