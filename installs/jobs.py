"""The background jobs of this app, as worker commands run them (core/workers.py):
token refresh, revocation retries and the purge of abandoned sign-ins."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from core.workers import Job
from installs import refresh, revocation
from installs.signin import purge_expired_attempts


def _refresh(batch_size: int, should_stop: Callable[[], bool]) -> Counter[str]:
    return refresh.run_pass(batch_size=batch_size, should_stop=should_stop)


def _revocations(batch_size: int, should_stop: Callable[[], bool]) -> Counter[str]:
    return revocation.retry_revocations(batch_size=batch_size, should_stop=should_stop)


def _purge(batch_size: int, should_stop: Callable[[], bool]) -> Counter[str]:
    wiped, deleted = purge_expired_attempts()
    return Counter({key: n for key, n in (("wiped", wiped), ("deleted", deleted)) if n})


REFRESH = Job("Token refresh pass", _refresh, {
    refresh.REFRESHED: "refreshed",
    refresh.FAILING: "refresh failing",
    refresh.REAUTH_REQUIRED: "reauthentication required",
    refresh.SKIPPED_LOCKED: "skipped (locked by another worker)",
    refresh.NOT_DUE: "not due",
}, always_report=True)
REVOCATIONS = Job("Pending revocations", _revocations, {
    revocation.REVOKED: "revoked",
    revocation.POSTPONED: "retry later",
    revocation.REFUSED: "refused by the provider",
    revocation.GAVE_UP: "given up",
})
PURGE = Job("Expired sign-ins", _purge, {"wiped": "wiped", "deleted": "old deleted"})

JOBS = (REFRESH, REVOCATIONS, PURGE)
