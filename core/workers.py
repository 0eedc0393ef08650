"""The loop every background worker command runs (refresh_tokens, deliver_webhooks, worker).

A worker pass runs each of its jobs once and prints one line per job; with the loop it
keeps going -- at once while a job filled its batch, else after `--interval` -- until
SIGTERM or SIGINT, which finishes the row in hand and exits 0. A database error abandons
the pass (the next one reconnects), so a worker survives a database restart.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from core import heartbeat

#: A job's pass: `run(batch_size, should_stop)` → outcome counts.
Run = Callable[[int, Callable[[], bool]], Counter[str]]


@dataclass(frozen=True)
class Job:
    """One kind of background work, and how its pass is reported."""

    title: str
    run: Run
    #: Outcome → words, in the order printed; the first is always named.
    labels: Mapping[str, str]
    #: Print the line even when a loop pass did nothing (else a quiet worker stays quiet).
    always_report: bool = False


class WorkerCommand(BaseCommand):
    """One pass over `jobs`, or (the loop) passes until SIGTERM/SIGINT.

    Subclasses set `jobs` and `loop_by_default`: False → one pass, `--loop` to keep
    going; True → `--once` for a single pass.
    """

    jobs: Sequence[Job] = ()
    loop_by_default = False
    #: Seconds the loop rests once caught up (`--interval`).
    default_interval = 30.0
    #: In the loop, print only the jobs that did something (one process runs many).
    quiet = False

    def add_arguments(self, parser: CommandParser) -> None:
        if self.loop_by_default:
            parser.add_argument("--once", action="store_true",
                                help="Run one pass of every job and exit.")
        else:
            parser.add_argument("--loop", action="store_true",
                                help="Keep running as a worker until SIGTERM/SIGINT.")
        parser.add_argument("--interval", type=float, default=self.default_interval,
                            help="Seconds to sleep between passes in the loop "
                                 f"(default {self.default_interval:g}).")
        parser.add_argument("--batch-size", type=int, default=1000,
                            help="At most this many rows per job and pass (default 1000); in "
                                 "the loop a full pass is followed at once by the next.")

    def handle(self, *args: Any, interval: float, batch_size: int, **options: Any) -> None:
        if batch_size < 1 or interval < 0:
            raise CommandError("--batch-size must be at least 1 and --interval not negative.")
        loop = not options["once"] if self.loop_by_default else options["loop"]
        self.stopping = threading.Event()
        # This process's heartbeat, which /healthz/ready reads (the command's name + host).
        self.heartbeat = heartbeat.worker_name(type(self).__module__.rsplit(".", 1)[-1])
        if not loop:
            self.run_pass(batch_size, loop=False)
            return
        with stop_on_signals(self.stopping):
            while not self.stopping.is_set():
                busiest = self.run_pass(batch_size, loop=True)
                if busiest is None or busiest < batch_size:
                    self.stopping.wait(interval)  # caught up (or the database is away): rest
        self.stdout.write("Stopped.")

    def run_pass(self, batch_size: int, *, loop: bool) -> int | None:
        """Every job once; the largest row count (a full batch means more is waiting), or
        None when the database failed."""
        drop_stale_connections()
        busiest = 0
        try:
            heartbeat.beat(self.heartbeat)  # a worker is passing
            for job in self.jobs:
                started = time.monotonic()
                should_stop = self.stopping.is_set
                if loop:  # each job its share of the pass: one slow job delays the rest little
                    should_stop = over_budget(started, self.stopping)
                counts = job.run(batch_size, should_stop)
                seconds = time.monotonic() - started
                if counts or not loop or (job.always_report and not self.quiet):
                    self.stdout.write(summary(job.title, counts, job.labels, seconds))
                busiest = max(busiest, sum(counts.values()))
                if loop and seconds >= settings.WORKER_JOB_BUDGET:
                    busiest = batch_size  # cut short: the next pass follows at once
        except DatabaseError as exc:
            if not loop:
                raise CommandError(f"Database error: {type(exc).__name__}") from exc
            self.stderr.write(f"Database error, pass abandoned: {type(exc).__name__}")
            drop_stale_connections()
            return None
        return busiest


def over_budget(started: float, stopping: threading.Event) -> Callable[[], bool]:
    """`should_stop` for a job of a loop pass: stopping, or WORKER_JOB_BUDGET seconds
    since it `started` (checked between rows; the row in hand is finished)."""
    budget = float(settings.WORKER_JOB_BUDGET)
    return lambda: stopping.is_set() or time.monotonic() - started >= budget


@contextmanager
def stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stopping` (checked between rows); the old handlers come back."""
    def stop(signum: int, frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def summary(title: str, counts: Counter[str], labels: Mapping[str, str], seconds: float) -> str:
    """"Title: 3 refreshed, 1 not due in 0.2 s." -- the first label is always named."""
    first = next(iter(labels))
    parts = [f"{counts[outcome]} {label}" for outcome, label in labels.items()
             if counts[outcome] or outcome == first]
    return f"{title}: {', '.join(parts)} in {seconds:.1f} s."


def drop_stale_connections() -> None:
    """A long-running worker must survive a database restart: reconnect when needed.

    (A connection inside a caller's transaction -- call_command in a test -- is left alone.)
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
