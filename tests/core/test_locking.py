"""`core.locking`: the row-lock scope, the one-row-at-a-time worker pass, the savepoint.

The PostgreSQL tests use real row locks from two connections (threads); on SQLite,
which has none, the scope is autocommit and only the pass's bookkeeping is checked.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Account, Partner
from core.locking import in_savepoint, row_lock_scope, work_through

LOCKS = connection.features.has_select_for_update
postgres_only = pytest.mark.skipif(not LOCKS, reason="row locks need PostgreSQL")


def accounts(partner: Partner, count: int) -> list[Account]:
    return [Account.objects.create(partner=partner, name=f"due {n}", external_id=f"a-{n}")
            for n in range(count)]


def claim_due() -> Account | None:
    """The first due account nobody holds, as the workers' claims are written."""
    return (Account.objects.select_for_update(skip_locked=True).filter(name__startswith="due")
            .order_by("pk").first())


def mark_done(account: Account) -> str:
    account.name = "done"
    account.save(update_fields=["name"])
    return "done"


def in_thread(work: Callable[[], object]) -> threading.Thread:
    """`work` on its own database connection, closed when it ends."""
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# --- row_lock_scope ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_scope_is_a_transaction_exactly_where_rows_lock():
    """PostgreSQL: a transaction; SQLite: autocommit (a transaction held across a provider's
    answer would block the sandbox writing to the same file)."""
    assert connection.get_autocommit()
    with row_lock_scope():
        assert connection.in_atomic_block is LOCKS
        assert connection.get_autocommit() is not LOCKS


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_row_locked_in_the_scope_stays_locked_until_it_ends(partner):
    """Another connection cannot take the lock while the scope is open, and can after."""
    account = accounts(partner, 1)[0]
    results: list[str] = []

    def try_lock() -> None:
        with transaction.atomic():
            try:
                Account.objects.select_for_update(nowait=True).get(pk=account.pk)
                results.append("locked")
            except DatabaseError:
                results.append("refused")

    with row_lock_scope():
        Account.objects.select_for_update().get(pk=account.pk)
        in_thread(try_lock).join(timeout=30)
    in_thread(try_lock).join(timeout=30)
    assert results == ["refused", "locked"]


# --- work_through ------------------------------------------------------------------------


def test_a_pass_handles_every_due_row_once_and_counts_the_outcomes(partner):
    rows = accounts(partner, 3)
    counts = work_through(claim_due, mark_done, batch_size=10, should_stop=lambda: False,
                          what="account")
    assert counts == Counter(done=3)
    assert set(Account.objects.filter(pk__in=[r.pk for r in rows])
               .values_list("name", flat=True)) == {"done"}


def test_a_pass_stops_after_its_batch(partner):
    accounts(partner, 3)
    counts = work_through(claim_due, mark_done, batch_size=2, should_stop=lambda: False,
                          what="account")
    assert counts == Counter(done=2)
    assert Account.objects.filter(name__startswith="due").count() == 1


def test_a_stop_request_finishes_the_current_row_first(partner):
    """`should_stop` is asked between rows: the row in hand is handled, no other."""
    accounts(partner, 3)
    handled: list[int] = []

    def handle(account: Account) -> str:
        handled.append(account.pk)
        return mark_done(account)

    counts = work_through(claim_due, handle, batch_size=10,
                          should_stop=lambda: len(handled) == 1, what="account")
    assert counts == Counter(done=1) and len(handled) == 1
    assert Account.objects.filter(name__startswith="due").count() == 2


def test_a_row_left_due_ends_the_pass_instead_of_spinning(partner, caplog):
    """An outcome that leaves its row due would be claimed again forever: logged, stopped."""
    row = accounts(partner, 1)[0]
    with caplog.at_level(logging.ERROR, logger="hatchway.refresh"):
        counts = work_through(claim_due, lambda account: "left due", batch_size=10,
                              should_stop=lambda: False, what="account")
    assert counts == Counter({"left due": 1})
    assert f"account {row.pk} is still due" in caplog.text


def test_an_empty_queue_is_an_empty_pass(db):
    assert work_through(claim_due, mark_done, batch_size=10, should_stop=lambda: False,
                        what="account") == Counter()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_hold_different_rows_at_once_and_handle_each_once(partner):
    """SKIP LOCKED: the second worker's claim passes over the row the first holds (both
    hold one at the same moment, or the barrier breaks), and no row is handled twice."""
    rows = accounts(partner, 6)
    both_holding = threading.Barrier(2, timeout=20)
    handled: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        first = True

        def handle(account: Account) -> str:
            nonlocal first
            if first:
                first = False
                both_holding.wait()
            handled.append((number, account.pk))
            return mark_done(account)

        try:
            work_through(claim_due, handle, batch_size=10, should_stop=lambda: False,
                         what="account")
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [in_thread(lambda n=n: worker(n)) for n in (1, 2)]
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(pk for _, pk in handled) == sorted(r.pk for r in rows)
    assert {number for number, _ in handled} == {1, 2}


# --- in_savepoint ------------------------------------------------------------------------


def test_the_work_s_outcome_is_returned(partner):
    row = accounts(partner, 1)[0]
    assert in_savepoint(row, lambda: mark_done(row), recover=lambda: "recovered",
                        what="account") == "done"
    assert Account.objects.get(pk=row.pk).name == "done"


def test_an_error_is_logged_without_its_message_and_the_row_recovered(partner, caplog):
    """Type and code location only (a message could quote a token); the row is reloaded,
    so what the failed attempt changed in memory is gone, and `recover` decides."""
    row = accounts(partner, 1)[0]

    def fails() -> str:
        row.name = "half changed"
        raise ValueError("access_token=secret-from-the-provider")

    with caplog.at_level(logging.ERROR, logger="hatchway.refresh"):
        outcome = in_savepoint(row, fails, recover=lambda: f"recovered {row.name}",
                               what="account")
    assert outcome == "recovered due 0"
    assert f"account {row.pk}: unexpected ValueError" in caplog.text
    assert "secret-from-the-provider" not in caplog.text


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_failed_write_is_undone_and_the_transaction_stays_usable(partner):
    """Inside the pass's transaction (the row lock held), the failed work's write rolls
    back to the savepoint; the recovery's write and the lock survive it."""
    row = accounts(partner, 1)[0]

    def write_then_fail() -> str:
        mark_done(row)
        raise RuntimeError("provider exploded")

    def recover() -> str:
        Account.objects.filter(pk=row.pk).update(external_id="recovered")
        return "recovered"

    with row_lock_scope():
        locked = Account.objects.select_for_update().get(pk=row.pk)
        assert in_savepoint(locked, write_then_fail, recover=recover,
                            what="account") == "recovered"
    saved = Account.objects.get(pk=row.pk)
    assert (saved.name, saved.external_id) == ("due 0", "recovered")
