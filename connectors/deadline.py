"""The total deadline of an outbound request (connectors/http.py sends through it).

A request's timeout is also its deadline: connecting, sending, waiting and reading
together. One watchdog thread shuts the socket of a request still going when its deadline
passes, so a provider trickling its answer a byte at a time cannot hold a worker or a web
thread for longer; the request then fails with requests.Timeout.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


@dataclass(eq=False)
class Watch:
    """One request's deadline and the connections it has used so far."""

    deadline: float
    connections: list[HTTPConnection] = field(default_factory=list)
    expired: bool = False
    done: bool = False

    def expire(self) -> None:
        """Past the deadline: shut down the sockets this request still holds, so a read
        blocked in them ends at once (a connection another request took since is left)."""
        self.expired = True
        for connection in self.connections:
            sock = connection.sock
            if getattr(connection, "watch", None) is self and sock is not None:
                try:  # the plain socket's: SSLSocket.shutdown would drop the TLS object
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass


class Watchdog:
    """One daemon thread that expires requests at their deadlines (earliest first)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float) -> Watch:
        watch = Watch(time.monotonic() + seconds)
        with self._wakeup:
            heapq.heappush(self._due, (watch.deadline, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="outbound-deadlines")
                self._thread.start()
            if self._due[0][2] is watch:  # sooner than the one it waits for: wake it
                self._wakeup.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._wakeup:
                # Requests that have finished are dropped before sleeping, so the thread
                # sleeps until the earliest deadline of one still going: it used to wake at
                # every finished request's deadline, one wake-up (and a switch of the GIL
                # away from the request being served) per outbound request.
                while self._due and self._due[0][2].done:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wakeup.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._wakeup.wait(wait)
                    continue
                watch = heapq.heappop(self._due)[2]
            if not watch.done:
                watch.expire()


watchdog = Watchdog()
#: The request this thread is sending, whose connections the watchdog may shut.
_sending: ContextVar[Watch | None] = ContextVar("outbound_request", default=None)


class _Watched:
    """Mixin for urllib3 connections: each request sent on one belongs to the Watch of
    the outbound request being sent (the connection may be a kept one)."""

    watch: Watch | None = None

    def request(self: Any, *args: Any, **kwargs: Any) -> None:
        watch = _sending.get()
        if watch is not None:
            self.watch = watch
            watch.connections.append(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


WATCHED_POOLS = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


def total_seconds(timeout: float | tuple[float | None, float | None]) -> float:
    """A request's deadline: its timeout, or connect and read timeouts added up."""
    if isinstance(timeout, tuple):
        return sum(part or 0.0 for part in timeout) or float(settings.OUTBOUND_TIMEOUT)
    return float(timeout)


def past_deadline(response: requests.Response) -> bool:
    """The request's deadline passed before its (streamed) body was read."""
    watch = getattr(response, "watch", None)
    return bool(watch is not None and watch.expired)


def send_by_deadline(send: Callable[..., requests.Response], request: requests.PreparedRequest,
                     kwargs: dict[str, Any]) -> requests.Response:
    """`send` under a Watch of the request's total deadline; requests.Timeout once it has
    passed. A streamed answer stays watched while its body is read, until it is closed."""
    watch = watchdog.watch(total_seconds(kwargs["timeout"]))
    sending = _sending.set(watch)
    try:
        response = send(request, **kwargs)
    except requests.RequestException:
        watch.done = True
        if watch.expired:
            raise _late() from None
        raise
    finally:
        _sending.reset(sending)
    if watch.expired:  # cut off mid-headers, what came may even parse: it is not the answer
        watch.done = True
        response.close()
        raise _late()
    if not kwargs.get("stream"):
        watch.done = True
        return response
    response.watch = watch  # type: ignore[attr-defined]
    close = response.close

    def close_and_forget() -> None:
        watch.done = True
        close()

    response.close = close_and_forget  # type: ignore[method-assign]
    return response


def _late() -> requests.Timeout:
    return requests.Timeout("No complete answer within the request's deadline.")
