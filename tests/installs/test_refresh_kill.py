"""A refresh worker killed with SIGKILL mid-refresh loses nothing (issue 19 item 21).

A real `manage.py refresh_tokens` process refreshes against a provider that takes the
request and never answers; it is killed with `kill -9` while it holds the install's row
lock inside its transaction. PostgreSQL rolls that transaction back when the connection
dies: the row is as it was, nobody holds its lock, and a later refresh succeeds.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from installs import refresh
from installs.models import Install
from sandbox.seeding import sandbox_accepts, seed_due_installs
from tests.installs.test_refresh_concurrency import child_env, manage

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL: a killed worker's transaction and row lock"),
]

SNAPSHOT_FIELDS = ("status", "credentials", "expires_at", "refresh_failures", "next_refresh_at",
                   "last_error", "last_refreshed_at", "updated_at")


class NeverAnswers(BaseHTTPRequestHandler):
    """A token endpoint that reads the request, says so, and then keeps the caller waiting."""

    arrived = threading.Event()
    release = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).arrived.set()
        type(self).release.wait(60)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hanging_provider():
    NeverAnswers.arrived, NeverAnswers.release = threading.Event(), threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), NeverAnswers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    NeverAnswers.release.set()
    server.shutdown()
    server.server_close()


def snapshot(pk: int) -> dict[str, Any]:
    install = Install.objects.get(pk=pk)
    return {name: getattr(install, name) for name in SNAPSHOT_FIELDS}


def lock_is_free(pk: int, *, within: float) -> bool:
    """Whether this connection can take the row lock at once (NOWAIT), polling `within` s
    while PostgreSQL notices the dead connection."""
    deadline = time.monotonic() + within
    while True:
        try:
            with transaction.atomic():
                Install.objects.select_for_update(nowait=True).filter(pk=pk).first()
            return True
        except DatabaseError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def test_sigkill_mid_refresh_leaves_the_row_unchanged_and_unlocked(
        transactional_db, partner, hanging_provider, sandbox_transport):
    """kill -9 while the worker holds the row lock mid-call: the row is unchanged and free,
    and the next refresh succeeds with the tokens the worker was refreshing."""
    install = seed_due_installs(partner, 1).installs[0]
    before = snapshot(install.pk)
    worker = manage("refresh_tokens", env=child_env(hanging_provider))
    try:
        assert NeverAnswers.arrived.wait(60), worker.stderr.read() if worker.poll() else ""
        assert not lock_is_free(install.pk, within=0)  # the worker holds the row right now
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()

    assert lock_is_free(install.pk, within=10)
    assert snapshot(install.pk) == before
    # A later refresh (here in process, against the sandbox) succeeds from that row.
    assert refresh.refresh_install(install.pk) == refresh.REFRESHED
    refreshed = Install.objects.get(pk=install.pk)
    assert refreshed.status == Install.Status.AUTHENTICATED
    assert refreshed.credentials != before["credentials"]
    assert sandbox_accepts(refreshed.credentials)
