"""What the API refuses before a view reads the request, with a 400 problem: a NUL character
in the path, in a query parameter's name or value, or in any key or string of a JSON body,
and JSON nested deeper than any request needs.

PostgreSQL cannot store or even compare text holding a NUL (SQLite can), so without this a
NUL reaching a lookup was a 500 on one database and not the other. No endpoint takes a NUL
anywhere, so the refusal is made once, for every endpoint, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

#: Deeper than any request body needs (the deepest are an install link's scopes, 3 levels).
MAX_JSON_DEPTH = 32
NUL = "\x00"
NUL_MESSAGE = "Text in a request cannot contain NUL characters (\\u0000)."
DEPTH_MESSAGE = f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing what no endpoint takes: deep nesting and NUL characters."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # nested deeper than the interpreter's recursion limit
            raise ParseError(DEPTH_MESSAGE) from None
        check_json(data)
        return data


def check_json(data: Any) -> None:
    """ParseError when `data` (parsed JSON) nests deeper than MAX_JSON_DEPTH or holds a NUL
    in a key or a string. Iterative: a parsed document may be as deep as the recursion limit."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if NUL in value:
                raise ParseError(NUL_MESSAGE)
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ParseError(DEPTH_MESSAGE)
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)


def check_path_and_query(request: Request) -> None:
    """ParseError when the path or a query parameter's name or value holds a NUL."""
    if NUL in request.path or any(
            NUL in name or any(NUL in value for value in values)
            for name, values in request.query_params.lists()):
        raise ParseError(NUL_MESSAGE)
