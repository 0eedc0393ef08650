"""The scope in which a row lock is held across a call to a provider.

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

from contextlib import AbstractContextManager, nullcontext

from django.db import connection, transaction


def row_lock_scope() -> AbstractContextManager[object]:
    """`transaction.atomic()` where rows can be locked; nothing on SQLite."""
    if connection.features.has_select_for_update:
        return transaction.atomic()
    return nullcontext()
