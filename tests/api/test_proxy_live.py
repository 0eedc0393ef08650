"""A slow provider cannot take the whole server: with gunicorn's threaded workers and the
outbound deadline, `/healthz/live` answers while proxy calls to a provider that trickles
its answer a byte at a time are waiting (docs/operations.md, "Slow providers").

A real gunicorn on the production config, a file SQLite database and a local provider."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.slow_server import Script, slow_server

ROOT = Path(__file__).resolve().parents[2]
OUTBOUND_TIMEOUT = 2
SETUP = """
from django.utils import timezone
from accounts.models import Account, Partner
from api import services as keys
from connectors.models import Connector
from connectors.spec import validate
from installs.models import Install
data = validate("slow.toml", "slow", {
    "name": "Slow", "description": "A trickling provider.",
    "auth": {"type": "api_key", "header": "X-API-Key"},
    "api": {"base_url": "{public_url}/v1"},
    "fields": [{"key": "api_key", "label": "API key", "level": "account", "secret": True}]})
connector = Connector.objects.create(slug="slow", name="Slow", description="d",
    auth_type="api_key", spec_data=data, search_text="slow")
partner = Partner.objects.create(name="Acme", slug="acme")
account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
install = Install.objects.create(account=account, connector=connector, status="authenticated",
    credentials={"api_key": "fake-key-live"}, authenticated_at=timezone.now())
_, token = keys.create_key(partner=partner, name="Live", scopes=["proxy"], actor=None)
print(install.pk, token)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def provider() -> Iterator[str]:
    """Answers its status line and headers one byte every 0.5 s: for minutes."""
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 400 + b"\r\n"
    with slow_server(Script(head=head, drip_head=True, pause=0.5)) as base:
        yield base


def server(tmp_path: Path, provider: str, threads: int) -> Iterator[tuple[str, str, str]]:
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "true", "SANDBOX_ENABLED": "false",
           "SECRET_KEY": "fake-live-test-key-" + "k" * 40,
           "FERNET_KEYS": "fake-live-fernet-key-" + "f" * 20,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}", "PUBLIC_URL": provider,
           "ALLOWED_HOSTS": "127.0.0.1", "OUTBOUND_TIMEOUT": str(OUTBOUND_TIMEOUT),
           "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": str(threads)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=300)
    setup = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT,
                           env=env, check=True, timeout=120, capture_output=True, text=True)
    install_id, token = setup.stdout.split()[-2:]
    port = free_port()
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                                 "config/gunicorn.conf.py", "config.wsgi"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz/live", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        yield base, install_id, token
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)


def hang(base: str, install_id: str, token: str, count: int) -> list[threading.Thread]:
    """`count` proxy calls to the trickling provider, in the background."""
    def call() -> None:
        try:
            requests.get(f"{base}/api/v1/proxy/{install_id}/me", timeout=60,
                         headers={"Authorization": f"Bearer {token}"})
        except requests.RequestException:
            pass

    threads = [threading.Thread(target=call, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # in the server, waiting on the provider
    return threads


def live_within(base: str) -> float:
    started = time.monotonic()
    assert requests.get(f"{base}/healthz/live", timeout=30).status_code == 200
    return time.monotonic() - started


def test_live_answers_at_once_while_fewer_calls_than_threads_hang(tmp_path, provider):
    """Two proxy calls waiting, four threads: /healthz/live is answered at once."""
    for base, install_id, token in server(tmp_path, provider, threads=4):
        hang(base, install_id, token, 2)
        assert live_within(base) < 2


def test_live_answers_within_the_deadline_when_every_thread_waits(tmp_path, provider):
    """Two proxy calls on two threads: the deadline frees them, so /healthz/live is
    answered within OUTBOUND_TIMEOUT, not when the provider finishes (minutes)."""
    for base, install_id, token in server(tmp_path, provider, threads=2):
        hang(base, install_id, token, 2)
        assert live_within(base) < OUTBOUND_TIMEOUT + 4  # the provider: minutes
