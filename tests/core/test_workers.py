"""core.workers: a worker command's pass, loop, stop and database-error handling."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from io import StringIO

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError

from core import workers
from core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

LABELS = {"done": "done", "skipped": "skipped"}


class Queue:
    """A job over `rows` items: each pass takes up to `batch_size`, stopping when asked."""

    def __init__(self, rows: int, *, fail: bool = False):
        self.rows, self.fail, self.passes = rows, fail, 0

    def run(self, batch_size, should_stop) -> Counter[str]:
        self.passes += 1
        if self.fail:
            raise OperationalError("server closed the connection")
        counts: Counter[str] = Counter()
        while self.rows and sum(counts.values()) < batch_size and not should_stop():
            self.rows -= 1
            counts["done"] += 1
        return counts


def command(queue: Queue, *, loop_by_default: bool = False) -> workers.WorkerCommand:
    job = workers.Job("Queue pass", queue.run, LABELS)
    cmd = type("Command", (workers.WorkerCommand,),
               {"jobs": (job,), "loop_by_default": loop_by_default,
                "__module__": "tests.management.commands.queue"})()
    cmd.stdout, cmd.stderr = StringIO(), StringIO()  # type: ignore[assignment]
    return cmd


def run(cmd: workers.WorkerCommand, *args: str) -> str:
    parser = cmd.create_parser("manage.py", "queue")
    options = vars(parser.parse_args(list(args)))
    cmd.execute(**options)
    return cmd.stdout.getvalue()  # type: ignore[attr-defined]


def test_one_pass_prints_a_line_and_beats(settings):
    queue = Queue(3)
    out = run(command(queue))
    assert out.startswith("Queue pass: 3 done in ") and out.rstrip().endswith(" s.")
    assert queue.passes == 1 and queue.rows == 0
    assert WorkerHeartbeat.objects.filter(name__startswith="queue").exists()


def test_a_pass_stops_at_the_batch_size():
    queue = Queue(5)
    assert run(command(queue), "--batch-size", "2").startswith("Queue pass: 2 done")
    assert queue.rows == 3


@pytest.mark.parametrize("args", [["--batch-size", "0"], ["--interval", "-1"]])
def test_bad_arguments_are_refused(args):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        run(command(Queue(1)), *args)


def test_a_database_error_fails_a_single_pass():
    with pytest.raises(CommandError, match="Database error: OperationalError"):
        run(command(Queue(1, fail=True)))


def test_the_loop_survives_a_database_error_and_stops_on_sigterm(monkeypatch):
    """In the loop a failed pass is abandoned and the worker rests; SIGTERM ends it (exit 0)."""
    queue = Queue(1, fail=True)
    cmd = command(queue, loop_by_default=True)
    rests = []

    def rest(self, timeout=None):
        rests.append(timeout)
        if len(rests) == 2:
            signal.raise_signal(signal.SIGTERM)
        return threading.Event.is_set(self)

    monkeypatch.setattr(threading.Event, "wait", rest)
    previous = signal.getsignal(signal.SIGTERM)
    out = run(cmd, "--interval", "5")
    assert out.splitlines() == ["Stopped."]
    assert rests == [5.0, 5.0] and queue.passes == 2
    errors = cmd.stderr.getvalue()  # type: ignore[attr-defined]
    assert errors.count("Database error, pass abandoned") == 2
    assert signal.getsignal(signal.SIGTERM) == previous


def test_summary_names_the_first_label_and_only_non_zero_others():
    assert workers.summary("Pass", Counter(), LABELS, 0.04) == "Pass: 0 done in 0.0 s."
    assert workers.summary("Pass", Counter(skipped=2, done=1), LABELS, 1.25) == (
        "Pass: 1 done, 2 skipped in 1.2 s.")


def test_over_budget_stops_on_request_or_after_the_budget(settings):
    settings.WORKER_JOB_BUDGET = 10
    stopping = threading.Event()
    assert workers.over_budget(-1e9, stopping)()  # started long ago: over budget
    fresh = workers.over_budget(float("inf"), stopping)
    assert not fresh()
    stopping.set()
    assert fresh()


def test_stop_on_signals_sets_the_event_and_restores_handlers():
    stopping = threading.Event()
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with workers.stop_on_signals(stopping):
        signal.raise_signal(signal.SIGINT)
    assert stopping.is_set()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
