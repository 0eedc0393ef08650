"""A requests transport that serves outbound HTTP from this Django app, in-process.

With it the auth methods talk to the real sandbox views (oauthlib's servers) without
a live server: `connectors.http.transport` is pointed at `WSGITransport` by the
`sandbox_transport` fixture. Every call is recorded so tests can count upstream requests.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import requests
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class WSGITransport(BaseAdapter):
    calls: list[requests.PreparedRequest] = []

    def __init__(self) -> None:
        super().__init__()
        self.app = WSGIHandler()

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        type(self).calls.append(request)
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        environ = {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": parts.path or "/",
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "testserver",
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            "CONTENT_LENGTH": str(len(body)),
        }
        for name, value in request.headers.items():
            # requests-oauthlib's OAuth1 sets Authorization as bytes; WSGI wants str.
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        captured: dict[str, object] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            captured["status"], captured["headers"] = status, headers

        # Like Django's test client: a handled request must not close the test's DB
        # connection (it would end the test transaction on PostgreSQL).
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            chunks = self.app(environ, start_response)
            try:
                content = b"".join(chunks)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        response = requests.Response()
        response.status_code = int(str(captured["status"]).split(" ", 1)[0])
        response.reason = str(captured["status"]).split(" ", 1)[1]
        response.headers = CaseInsensitiveDict(captured["headers"])
        response._content = content
        response._content_consumed = True  # read already: iter_content and close() work too
        response.url = request.url
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def close(self) -> None:
        pass
