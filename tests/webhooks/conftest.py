"""Fixtures for the webhook tests: a real HTTP receiver on 127.0.0.1 that answers from a
script, an account, and an endpoint with its secret."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from accounts.models import Account, Partner
from webhooks import delivery, relay, services
from webhooks.models import WebhookEndpoint


@dataclass
class Reply:
    """One scripted answer: status, headers, body (`chunks` times, `chunk_delay` s apart),
    after `delay` s."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: int = 1
    chunk_delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A partner's endpoint: records every request, answers the next scripted Reply (the
    last one repeats), 200 when there is no script."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Reply] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def _next(self, received: Received) -> Reply:
        with self.lock:
            self.requests.append(received)
            if len(self.script) > 1:
                return self.script.pop(0)
            return self.script[0] if self.script else Reply()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = receiver._next(Received(self.path, dict(self.headers.items()), body))
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body) * reply.chunks))
                    self.end_headers()
                    for _ in range(reply.chunks):
                        self.wfile.write(reply.body)
                        self.wfile.flush()
                        time.sleep(reply.chunk_delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what a bounded read does

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def account(partner: Partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@dataclass
class Endpoint:
    row: WebhookEndpoint
    secret: str


@pytest.fixture
def endpoint(partner: Partner, receiver: Receiver) -> Endpoint:
    row, secret = services.create_endpoint(partner=partner, url=receiver.url)
    return Endpoint(row, secret)


def relay_all(now: datetime | None = None) -> None:
    relay.relay_pass(now=now)


def deliver_all(now: datetime | None = None) -> dict[str, int]:
    return dict(delivery.deliver_pass(now=now))


def later(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)
