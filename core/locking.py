"""The scope in which a row lock is held across a call to a provider, and the worker
passes that hold one row lock at a time (token refresh, revocation retries).

On PostgreSQL it is a transaction: the `SELECT … FOR UPDATE [SKIP LOCKED]` taken inside
it keeps the row locked until the provider has answered and the outcome is saved, so no
two workers (or a worker and a web request) act on the same token at once.

SQLite has no row locks (`select_for_update` is a no-op) and a transaction held open
across an HTTP call would block every other writer until it ends -- including the
sandbox answering that very call on the same database, which then fails with "database
is locked". There the scope is autocommit; each outcome's writes take their own
`transaction.atomic()`. SQLite deployments run one process, which is what the row lock
would otherwise guarantee.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import Model

log = logging.getLogger("hatchway.refresh")
R = TypeVar("R", bound=Model)
#: What one step of a worker pass came to (a `TextChoices` of outcomes).
Outcome = TypeVar("Outcome", bound=str)


def row_lock_scope() -> AbstractContextManager[object]:
    """`transaction.atomic()` where rows can be locked; nothing on SQLite."""
    if connection.features.has_select_for_update:
        return transaction.atomic()
    return nullcontext()


def work_through(claim: Callable[[], R | None], handle: Callable[[R], str], *,
                 batch_size: int, should_stop: Callable[[], bool], what: str) -> Counter[str]:
    """A worker pass: claim one row, handle it under its row lock, repeat; count the outcomes.

    `claim` returns the most urgent due row nobody else holds (`… FOR UPDATE SKIP LOCKED`),
    so concurrent workers spread over different rows instead of queueing behind each
    other; `handle` returns an outcome word. The pass ends when nothing is due, after
    `batch_size` rows, or when `should_stop()` (checked between rows) says so.
    """
    counts: Counter[str] = Counter()
    seen: set[int] = set()
    while sum(counts.values()) < batch_size and not should_stop():
        with row_lock_scope():
            row = claim()
            if row is None:
                break
            if row.pk in seen:  # an outcome that left the row due: a bug, don't spin
                log.error("%s %s is still due after this pass handled it", what, row.pk)
                break
            seen.add(row.pk)
            outcome = handle(row)
        counts[outcome] += 1
    return counts


def in_savepoint(row: Model, work: Callable[[], Outcome], *, recover: Callable[[], Outcome],
                 what: str) -> Outcome:
    """`work()` for a row this transaction has locked; an unexpected error is never a lost row.

    The error is logged -- its type and code location only: a message could quote a token
    or a response body -- the row is reloaded (dropping whatever the failed attempt
    changed in memory) and `recover()` records what becomes of it.
    """
    try:
        with row_lock_scope():  # a savepoint: a failed write leaves the lock usable
            return work()
    except Exception as exc:
        log.error("%s %s: unexpected %s\n%s", what, row.pk, type(exc).__name__,
                  "".join(traceback.format_tb(exc.__traceback__)))
        row.refresh_from_db()
        return recover()
