"""A provider on 127.0.0.1 that answers every request from one script: at once, never, or
trickling its status line, headers or body a few bytes at a time (the slow-drip attack).
A real socket, so the tests exercise connectors/http.py's real transport."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from socketserver import BaseRequestHandler, ThreadingTCPServer


@dataclass
class Script:
    """`head` and `body` are sent in pieces of `piece` bytes, `pause` s apart, once
    `hang` s have passed; `requests` counts what arrived."""

    head: bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    body: bytes = b"{}"
    drip_head: bool = False
    drip_body: bool = False
    piece: int = 1
    pause: float = 0.1
    hang: float = 0.0
    requests: list[bytes] = field(default_factory=list)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0


class _Server(ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def slow_server(script: Script) -> Iterator[str]:
    """Serve `script` until the block ends; yields the base URL (http://127.0.0.1:port)."""
    stop = threading.Event()

    class Handler(BaseRequestHandler):
        def handle(self) -> None:
            """Answer requests on this connection until the client closes it (HTTP/1.1
            keep-alive, as a real provider would)."""
            conn: socket.socket = self.request
            while self._answer_one(conn):
                pass

        def _answer_one(self, conn: socket.socket) -> bool:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                data += chunk
            request_head, _, body = data.partition(b"\r\n\r\n")
            length = _content_length(request_head)
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                body += chunk
            script.requests.append(request_head + b"\r\n\r\n" + body)
            if stop.wait(script.hang):
                return False
            head = script.head + f"Content-Length: {len(script.body)}\r\n\r\n".encode()
            try:
                self._send(conn, head, script.drip_head)
                self._send(conn, script.body, script.drip_body)
            except OSError:
                return False  # the client gave up: what a deadline does
            return not stop.is_set()

        def _send(self, conn: socket.socket, data: bytes, drip: bool) -> None:
            if not drip:
                conn.sendall(data)
                return
            for start in range(0, len(data), script.piece):
                if stop.is_set():
                    return
                conn.sendall(data[start:start + script.piece])
                time.sleep(script.pause)

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
