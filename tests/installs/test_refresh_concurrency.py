"""Concurrent refresh workers and key rotation against one PostgreSQL (row locks).

SQLite has no row locks (select_for_update is a no-op there), so these run on
PostgreSQL only: DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway pytest tests/refresh
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from audit.models import AuditEvent
from connectors import http
from installs import models, refresh, rotation
from installs.models import Install
from sandbox import services as sandbox
from sandbox.seeding import accepted_count, sandbox_accepts, seed_due_installs
from tests.installs.test_rotate_keys import NEW_KEY, OLD_KEY, raw, under
from tests.wsgi_transport import WSGITransport

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL for row locks (SELECT … FOR UPDATE SKIP LOCKED): "
                              "set DATABASE_URL=postgres://…"),
]

BASE_DIR = Path(settings.BASE_DIR)
WORKERS = 4
INSTALLS = 1000


def child_env(public_url: str = "http://testserver") -> dict[str, str]:
    """The environment for a `manage.py` child on this test database."""
    db = connection.settings_dict
    url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
           f"{db['PORT'] or 5432}/{db['NAME']}")
    return {**os.environ, "DATABASE_URL": url, "PUBLIC_URL": public_url,
            "FERNET_KEYS": ",".join(settings.FERNET_KEYS), "LOG_LEVEL": "WARNING"}


def manage(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class SlowTransport(WSGITransport):
    """The in-process sandbox, answering after `delay` seconds (so calls overlap)."""

    delay = 1.0
    in_flight = threading.Event()

    def send(self, request, **kwargs):
        type(self).in_flight.set()
        time.sleep(self.delay)
        return super().send(request, **kwargs)


@pytest.fixture
def slow_sandbox(monkeypatch):
    SlowTransport.calls, SlowTransport.in_flight = [], threading.Event()
    monkeypatch.setattr(http, "transport", SlowTransport)
    return SlowTransport


def in_thread(target, *args) -> tuple[threading.Thread, list]:
    """Run `target(*args)` in a thread with its own database connection; result in a list."""
    result: list = []

    def run():
        try:
            result.append(target(*args))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_four_worker_processes_refresh_a_thousand_installs_once(transactional_db, partner,
                                                                live_server):
    """4 `refresh_tokens` processes, 1,000 due installs, rotation enforced → 1,000 refreshes."""
    seeded = seed_due_installs(partner, INSTALLS)
    ids = [i.pk for i in seeded.installs]
    assert accepted_count(ids) == INSTALLS
    before = sandbox.refresh_count()
    # A generous outbound timeout: on a loaded CI machine the one-process live server can
    # stall for seconds, and a timed-out refresh is (correctly) a "Refresh failing" retry.
    env = {**child_env(live_server.url), "OUTBOUND_TIMEOUT": "60"}
    started = time.monotonic()
    workers = [manage("refresh_tokens", "--batch-size", str(INSTALLS), env=env)
               for _ in range(WORKERS)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    elapsed = time.monotonic() - started
    assert [w.returncode for w in workers] == [0] * WORKERS, outputs
    print(f"\n{INSTALLS} installs, {WORKERS} workers: {elapsed:.1f} s "
          f"({INSTALLS / elapsed:.0f} refreshes/s)")

    statuses = Counter(Install.objects.filter(pk__in=ids).values_list("status", flat=True))
    errors = Counter(Install.objects.filter(pk__in=ids).values_list("last_error", flat=True))
    still_due = Install.objects.filter(models.due_filter(), pk__in=ids).count()
    diagnosis = (statuses, errors, still_due, [out for out, _ in outputs])
    assert sandbox.refresh_count() - before == INSTALLS, diagnosis  # one upstream call each
    assert statuses == {Install.Status.AUTHENTICATED: INSTALLS}, diagnosis  # 0 reauth/failing
    assert accepted_count(ids) == INSTALLS  # every install holds a token the sandbox accepts
    per_install = Counter(AuditEvent.objects.filter(action="install.refreshed")
                          .values_list("install_id", flat=True))
    assert len(per_install) == INSTALLS and set(per_install.values()) == {1}
    refreshed = sum(int(out.split("Token refresh pass: ")[1].split(" refreshed")[0])
                    for out, _ in outputs)
    assert refreshed == INSTALLS
    assert sum(1 for out, _ in outputs if " 0 refreshed" not in out) >= 2  # work was shared


def test_two_workers_one_install_one_upstream_call(transactional_db, partner, slow_sandbox):
    """Two workers and an on-demand use race for one install: one call, all see the new token."""
    seeded = seed_due_installs(partner, 1)
    install = seeded.installs[0]
    old = dict(install.credentials)
    first, first_result = in_thread(refresh.refresh_install, install.pk)
    assert slow_sandbox.in_flight.wait(5)  # the first worker holds the row, mid-call
    second, second_result = in_thread(refresh.refresh_install, install.pk)
    on_demand, fresh = in_thread(refresh.ensure_fresh, install)  # a stale copy, as a view has
    for thread in (first, second, on_demand):
        thread.join(10)
    assert (first_result, second_result) == ([refresh.REFRESHED], [refresh.SKIPPED_LOCKED])
    assert len(slow_sandbox.calls) == 1  # exactly one upstream refresh
    stored = Install.objects.get(pk=install.pk).credentials
    assert stored["refresh_token"] != old["refresh_token"]
    assert fresh[0].credentials == stored  # the waiting caller got the winner's token
    assert refresh.refresh_install(install.pk) == refresh.NOT_DUE  # and the second worker too
    assert sandbox_accepts(stored) and not sandbox_accepts(old)
    assert sandbox.refresh_count() == 1


def test_rotation_during_a_refresh_loses_nothing(transactional_db, partner, slow_sandbox,
                                                 settings):
    """rotate_keys meets a row locked by a refresh: it waits, sees the change, rotates again."""
    settings.FERNET_KEYS = [OLD_KEY]
    seeded = seed_due_installs(partner, 3)
    target = seeded.installs[1]
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]
    worker, outcome = in_thread(refresh.refresh_install, target.pk)
    assert slow_sandbox.in_flight.wait(5)  # the refresh holds the row lock across its call
    # Rotate the credentials column now: its UPDATE of the target row waits for the lock.
    report = rotation.Report()
    rotation.rotate_field(Install, Install._meta.get_field("credentials"), batch_size=2,
                          report=report)
    worker.join(10)
    assert outcome == [refresh.REFRESHED]
    assert report.retried["installs.Install.credentials"] == 1
    assert report.rotated["installs.Install.credentials"] == 3
    rotation.rotate_all()  # the other columns
    settings.FERNET_KEYS = [NEW_KEY]
    refreshed = Install.objects.get(pk=target.pk)
    assert refreshed.last_refreshed_at is not None
    assert sandbox_accepts(refreshed.credentials)  # the refreshed token, not the pre-rotation one
    assert under(NEW_KEY, raw(Install, target.pk, "credentials"))
    assert accepted_count([i.pk for i in seeded.installs]) == 3


def test_worker_loop_stops_on_sigterm(transactional_db, partner):
    """`refresh_tokens --loop` exits 0 on SIGTERM while waiting between passes."""
    worker = manage("refresh_tokens", "--loop", "--interval", "60", env=child_env())
    first_line = worker.stdout.readline()
    assert first_line.startswith("Token refresh pass: 0 refreshed")
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    assert out.strip() == "Stopped."
