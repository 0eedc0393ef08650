"""Fixed-window request counters in the default cache, for throttles of our own (password
reset, starting a sign-in with SSO). Share the cache between processes (CACHE_URL), or each
process counts on its own."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Count:
    """How many requests `key` made in the current window, against its limit."""

    count: int
    limit: int

    @property
    def over(self) -> bool:
        return self.count > self.limit

    @property
    def just_over(self) -> bool:
        """The first request past the limit in this window (to report it once)."""
        return self.count == self.limit + 1


def hit(key: str, *, limit: int, window: int) -> Count:
    """Count one request against `key` for `window` seconds from its first."""
    cache.add(key, 0, window)
    try:
        count: int = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        count = 1
    return Count(count=count, limit=limit)
