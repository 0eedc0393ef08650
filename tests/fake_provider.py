"""A fake third-party provider for unit tests of the auth methods: canned responses.

`FakeProvider` is a requests transport adapter; the `fake_provider` fixtures point
`connectors.http.transport` at it. Routes are (method, URL without query) → a queue of
responses; the last response of a queue repeats. A response may be an exception to
raise (a timeout, a refused connection). Every request is recorded in `calls`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

HOST = "https://provider.localhost"  # *.localhost passes the SSRF guard in tests


@dataclass
class Canned:
    status: int = 200
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    raises: BaseException | None = None


class FakeProvider(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[tuple[str, str], list[Canned]] = {}
        self.calls: list[requests.PreparedRequest] = []

    # --- setting up ---------------------------------------------------------------------

    def add(self, method: str, url: str, *, status: int = 200, json_body: Any = None,
            text: str | bytes = "", headers: dict[str, str] | None = None,
            raises: BaseException | None = None) -> None:
        headers = dict(headers or {})
        if json_body is not None:
            text = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        self.routes.setdefault((method.upper(), url), []).append(
            Canned(status=status, body=text, headers=headers, raises=raises))

    def __call__(self) -> FakeProvider:  # used as the `http.transport` factory
        return self

    # --- inspecting ---------------------------------------------------------------------

    def calls_to(self, url: str) -> list[requests.PreparedRequest]:
        return [c for c in self.calls if (c.url or "").split("?")[0] == url]

    @staticmethod
    def header(request: requests.PreparedRequest, name: str) -> str:
        value = request.headers.get(name, "")
        return value.decode() if isinstance(value, bytes) else value

    @staticmethod
    def form(request: requests.PreparedRequest) -> dict[str, str]:
        body = request.body or ""
        if isinstance(body, bytes):
            body = body.decode()
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    # --- the adapter --------------------------------------------------------------------

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.calls.append(request)
        parts = urlsplit(request.url or "")
        key = (request.method or "GET", f"{parts.scheme}://{parts.netloc}{parts.path}")
        queue = self.routes.get(key)
        if not queue:
            canned = Canned(status=404, body="no such route")
        else:
            canned = queue.pop(0) if len(queue) > 1 else queue[0]
        if canned.raises is not None:
            raise canned.raises
        response = requests.Response()
        response.status_code = canned.status
        body = canned.body
        response._content = body.encode() if isinstance(body, str) else body
        response._content_consumed = True  # read already: iter_content and close() work too
        response.headers = CaseInsensitiveDict(canned.headers)
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def install_fake(monkeypatch: Any) -> FakeProvider:
    """Route all outbound HTTP to a new FakeProvider for this test."""
    from connectors import http

    provider = FakeProvider()
    monkeypatch.setattr(http, "transport", provider)
    return provider
