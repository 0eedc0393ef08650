"""Cursor pagination: `{"results": [...], "next": <url or null>}`.

A cursor is the client's to send back as it was given: one the list never handed out
(tampered, another list's, not base64, a position the ordering column cannot hold) is a 400
naming `cursor` -- never a database error, and never mistaken for "no such page".
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Sequence
from typing import Any
from urllib import parse

from django.db import models
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor as Position
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

#: The largest value of a 64-bit signed id column (PostgreSQL bigint, SQLite INTEGER).
MAX_ID = 2**63 - 1
INVALID_CURSOR = "Invalid cursor: send back the `next` link of the previous page unchanged."


class Cursor(CursorPagination):
    """Newest first by id (unique, so a cursor never skips or repeats a row)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def paginate_queryset(self, queryset: QuerySet[Any, Any] | Sequence[Any], request: Request,
                          view: APIView | None = None) -> list[Any] | None:
        assert isinstance(queryset, QuerySet), "cursor pages are of querysets"
        self.column = queryset.model._meta.get_field(self.ordering.lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Position | None:
        """DRF's reading, stricter (base64 and query string checked, not skipped over),
        and the position checked against the ordering column."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
            offset = int(tokens.get("o", ["0"])[0])
            reverse = tokens.get("r", ["0"])[0]
            position = tokens.get("p", [None])[0]
        except ValueError:  # binascii.Error, UnicodeError and int() failing included
            raise invalid_cursor() from None
        if not 0 <= offset or reverse not in ("0", "1") or not (
                position is None or self.holds(position)):
            raise invalid_cursor()
        # The position is the ordering column's value as text (the stubs say int).
        return Position(offset=min(offset, self.offset_cutoff), reverse=reverse == "1",
                        position=position)  # type: ignore[arg-type]

    def holds(self, position: str) -> bool:
        """Whether the ordering column can hold this position (PostgreSQL refuses to compare
        text with a NUL; an id beyond 64 bits overflows SQLite)."""
        if isinstance(self.column, models.IntegerField):  # AutoField and BigAutoField too
            return position.isascii() and position.isdigit() and 0 < int(position) <= MAX_ID
        max_length = getattr(self.column, "max_length", None) or len(position)
        return position.isprintable() and len(position) <= max_length

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True,
                         "description": "The next page, or null on the last one."},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1,
                                   "maximum": self.max_page_size}
        return params


class BySlug(Cursor):
    ordering = "slug"


def invalid_cursor() -> ValidationError:
    return ValidationError({"cursor": [INVALID_CURSOR]})


