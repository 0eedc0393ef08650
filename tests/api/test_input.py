"""api.input: NUL characters and deep nesting refused before a view reads the request."""

from __future__ import annotations

import io
import json

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.input import (
    DEPTH_MESSAGE,
    MAX_JSON_DEPTH,
    NUL_MESSAGE,
    StrictJSONParser,
    check_json,
    check_path_and_query,
)


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_ordinary_bodies_pass():
    check_json({"name": "Main", "scopes": [["read", {"x": 1}]], "n": None, "ok": True})
    check_json(nested(MAX_JSON_DEPTH))


@pytest.mark.parametrize("body", [
    {"name": "a\x00b"}, {"a\x00": 1}, [[{"deep": ["x\x00"]}]], "\x00",
])
def test_a_nul_anywhere_is_refused(body):
    with pytest.raises(ParseError, match="NUL characters"):
        check_json(body)


def test_nesting_beyond_the_limit_is_refused():
    with pytest.raises(ParseError) as refused:
        check_json(nested(MAX_JSON_DEPTH + 1))
    assert refused.value.detail == DEPTH_MESSAGE
    with pytest.raises(ParseError, match="nested deeper"):
        check_json({"a": {"b": nested(MAX_JSON_DEPTH)}})


def test_the_parser_refuses_deeper_than_the_recursion_limit():
    """A document Python's json cannot even parse is a 400, not a RecursionError."""
    stream = io.BytesIO(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ParseError, match="nested deeper"):
        StrictJSONParser().parse(stream, "application/json", {})
    parsed = StrictJSONParser().parse(io.BytesIO(json.dumps({"a": [1]}).encode()),
                                      "application/json", {})
    assert parsed == {"a": [1]}


@pytest.mark.parametrize("path, query", [
    ("/api/v1/accounts/a%00b", {}), ("/api/v1/accounts", {"q": "a\x00"}),
    ("/api/v1/accounts", {"a\x00": "1"}),
])
def test_a_nul_in_the_path_or_query_is_refused(path, query):
    request = Request(APIRequestFactory().get(path, query))
    with pytest.raises(ParseError) as refused:
        check_path_and_query(request)
    assert refused.value.detail == NUL_MESSAGE


def test_an_ordinary_path_and_query_pass():
    check_path_and_query(Request(APIRequestFactory().get("/api/v1/accounts", {"q": "x"})))
