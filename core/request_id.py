"""One id per request: taken from a valid `X-Request-ID`, else generated, and returned.

The id (and the partner's id, once a view knows it) is kept in a context variable until
the request has finished -- after the middleware, since Django logs 4xx and 5xx responses
outside every middleware -- and `RequestContextFilter` copies both onto every log record,
so a line logged deep inside a service still says which request and which partner it
belongs to. A client's id is used only when it is short and made of safe characters: it goes
into logs and a response header, so it must not be able to forge a line or a header.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_context: ContextVar[dict[str, Any] | None] = ContextVar("hatchway_request", default=None)


def request_id_from(header: str | None) -> str:
    """The client's id when it is valid, else a new one."""
    if header and VALID_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def bind(**fields: Any) -> None:
    """Add fields (e.g. `partner_id`) to the current request's log context, if any."""
    context = _context.get()
    if context is not None:
        context.update(fields)


def clear(**kwargs: Any) -> None:
    """`request_finished` receiver: nothing logged after the request carries its id."""
    _context.set(None)


class RequestIDMiddleware:
    """Put first in MIDDLEWARE, so every later log line of the request carries the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        _context.set({"request_id": request_id})  # cleared by `clear` at request_finished
        response = self.get_response(request)
        # An answer relayed from a provider (the API's proxy) keeps the provider's own id,
        # which the provider's support asks for; Hatchway's is in the logs either way.
        response.setdefault(HEADER, request_id)
        return response


class RequestContextFilter(logging.Filter):
    """Copies `request_id` and `partner_id` onto a record logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            setattr(record, key, value)
        return True
