"""`manage.py refresh_tokens`: refresh every due install once, or keep doing it (--loop).

Each pass also retries the revocations a provider could not take at deauthentication
(installs/revocation.py). Run as many as you like, on as many machines as you like,
against one PostgreSQL: row locks (`FOR UPDATE SKIP LOCKED`) make sure no install is
refreshed, and no revocation sent, twice. SIGTERM or SIGINT finishes the row in hand and
exits 0. Each pass first writes the process's heartbeat (core/heartbeat.py), which
`/healthz/ready` reads.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from core import heartbeat
from installs import refresh, revocation, services

LABELS = {
    refresh.REFRESHED: "refreshed",
    refresh.FAILING: "refresh failing",
    refresh.REAUTH_REQUIRED: "reauthentication required",
    refresh.SKIPPED_LOCKED: "skipped (locked by another worker)",
    refresh.NOT_DUE: "not due",
}
REVOCATION_LABELS = {
    revocation.REVOKED: "revoked",
    revocation.POSTPONED: "retry later",
    revocation.REFUSED: "refused by the provider",
    revocation.GAVE_UP: "given up",
}


class Command(BaseCommand):
    help = ("Refresh access tokens that expire within TOKEN_REFRESH_MARGIN and retry "
            "pending revocations.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true",
                            help="Keep running as a worker until SIGTERM/SIGINT.")
        parser.add_argument("--interval", type=float, default=30.0,
                            help="Seconds to sleep between passes with --loop (default 30).")
        parser.add_argument("--batch-size", type=int, default=1000,
                            help="At most this many installs per pass (default 1000); with "
                                 "--loop a full pass is followed at once by the next.")

    def handle(self, *args: Any, loop: bool, interval: float, batch_size: int,
               **options: Any) -> None:
        if batch_size < 1 or interval < 0:
            raise CommandError("--batch-size must be at least 1 and --interval not negative.")
        self.stopping = threading.Event()
        self.name = heartbeat.worker_name("refresh_tokens")
        if not loop:
            self._pass(batch_size, loop=False)
            return
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping.is_set():
                busiest = self._pass(batch_size, loop=True)
                if busiest is None or busiest < batch_size:
                    self.stopping.wait(interval)  # caught up (or the database is away): rest
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")

    def _pass(self, batch_size: int, *, loop: bool) -> int | None:
        """One refresh pass, then one pass over pending revocations; returns the larger of the
        two row counts (a full batch means more work is waiting)."""
        _drop_stale_connections()
        started = time.monotonic()
        try:
            heartbeat.beat(self.name)  # /healthz/ready: a worker is passing
            counts = refresh.run_pass(batch_size=batch_size, should_stop=self.stopping.is_set)
            self.stdout.write(_summary("Token refresh pass", counts, LABELS,
                                       time.monotonic() - started))
            started = time.monotonic()
            revoked = revocation.retry_revocations(batch_size=batch_size,
                                                   should_stop=self.stopping.is_set)
            services.purge_expired_attempts()
        except DatabaseError as exc:
            if not loop:
                raise CommandError(f"Database error: {type(exc).__name__}") from exc
            self.stderr.write(f"Database error, pass abandoned: {type(exc).__name__}")
            _drop_stale_connections()
            return None
        if revoked or not loop:  # a quiet worker prints one line per pass
            self.stdout.write(_summary("Pending revocations", revoked, REVOCATION_LABELS,
                                       time.monotonic() - started))
        return max(sum(counts.values()), sum(revoked.values()))

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping.set()


def _summary(title: str, counts: Counter[str], labels: dict[str, str], seconds: float) -> str:
    """"Title: 3 refreshed, 1 not due in 0.2 s." -- the first label is always named."""
    first = next(iter(labels))
    parts = [f"{counts[outcome]} {label}" for outcome, label in labels.items()
             if counts[outcome] or outcome == first]
    return f"{title}: {', '.join(parts)} in {seconds:.1f} s."


def _drop_stale_connections() -> None:
    """A long-running worker must survive a database restart: reconnect when needed.

    (A connection inside a caller's transaction -- call_command in a test -- is left alone.)
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
