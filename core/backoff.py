"""Exponential back-off with jitter, shared by token refresh, revocation retries and
webhook deliveries."""

from __future__ import annotations

import random

BACKOFF_BASE = 30.0  # seconds before the first retry (at most)
BACKOFF_CAP = 3600.0  # never wait longer than an hour between attempts …
RETRY_AFTER_CAP = 6 * 3600.0  # … unless the provider asks to, within reason


def backoff_seconds(failures: int, *, retry_after: float | None = None,
                    rng: random.Random | None = None, base: float = BACKOFF_BASE,
                    cap: float = BACKOFF_CAP) -> float:
    """Between half and all of `base` · 2^(failures-1), capped at `cap`; never sooner
    than the other side's Retry-After (itself capped at six hours)."""
    ceiling: float = min(cap, base * 2 ** max(failures - 1, 0))
    delay = ceiling * (0.5 + 0.5 * (rng.random() if rng else random.random()))
    if retry_after:
        delay = max(delay, min(float(retry_after), RETRY_AFTER_CAP))
    return delay
