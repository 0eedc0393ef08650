"""Malformed input is a 400 problem, never an HTML 500, on SQLite and on PostgreSQL (CI runs
both): tampered or foreign cursors, JSON nested too deep, NUL characters in a path segment,
a query parameter or anywhere in a JSON body, integers too large for the database."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

import pytest

from accounts.models import Account
from tests.api.helpers import assert_problem
from tests.api.test_refusals import ENDPOINTS, ids, world_for

HUGE = 2**70

#: Every paginated list; the connectors are ordered by slug, the others by id.
LISTS = ["/api/v1/connectors", "/api/v1/accounts", "/api/v1/accounts/cust-1/installs",
         "/api/v1/events"]
BY_ID = LISTS[1:]


def cursor(**tokens: str) -> str:
    """A cursor as DRF encodes one: base64 of a query string (o offset, r reverse, p position)."""
    return base64.b64encode(urlencode(tokens).encode()).decode()


#: Cursors no list ever hands out.
TAMPERED = {
    "not base64": "%%%",
    "not a query string": base64.b64encode(b"\xff\xfe").decode(),
    "NUL in the position": cursor(p="1\x002"),
    "control character in the position": cursor(p="a\x1bb"),
    "negative offset": cursor(o="-1", p="5"),
    "offset not a number": cursor(o="x"),
    "reverse not a flag": cursor(r="yes"),
}
#: Positions that cannot be an id.
NOT_AN_ID = {
    "text": cursor(p="sandbox-api-key"),
    "too large": cursor(p=str(HUGE)),
    "negative": cursor(p="-5"),
    "fraction": cursor(p="1.5"),
}


@pytest.fixture
def mine(partner, sandbox_transport):
    return world_for(partner, "cust-1")


def assert_cursor_refused(response) -> None:
    assert_problem(response, 400)
    assert response.json()["errors"]["cursor"]


@pytest.mark.parametrize("path", LISTS)
def test_tampered_cursor_is_400(api, mine, catalog, path):
    """A cursor the list never handed out: a 400 naming `cursor`, not a 404 or a 500."""
    for case, value in TAMPERED.items():
        response = api.get(path, {"cursor": value})
        assert response.status_code == 400, case
        assert_cursor_refused(response)


@pytest.mark.parametrize("path", BY_ID)
def test_cursor_position_that_is_not_an_id_is_400(api, mine, path):
    """Lists ordered by id refuse a position that is not an id (text, > 2^63, negative)."""
    for case, value in NOT_AN_ID.items():
        response = api.get(path, {"cursor": value})
        assert response.status_code == 400, case
        assert_cursor_refused(response)


@pytest.mark.parametrize("path", BY_ID)
def test_foreign_cursor_is_400(api, mine, catalog, path):
    """The connectors list's own `next` cursor (a slug) used on a list ordered by id: 400."""
    page = api.get("/api/v1/connectors", {"limit": 1}).json()
    foreign = page["next"].split("cursor=")[1].split("&")[0]
    assert_cursor_refused(api.get(f"{path}?cursor={foreign}"))


@pytest.mark.parametrize("path", LISTS)
def test_genuine_cursor_still_pages(api, mine, catalog, path, partner):
    """The refusals above leave real cursors working: `next` walks to a second page."""
    for n in range(2):
        Account.objects.create(partner=partner, name=f"Extra {n}", external_id=f"extra-{n}")
    page = api.get(path, {"limit": 1}).json()
    if page["next"] is None:  # a list with one row here (the account's installs)
        return
    assert api.get(page["next"]).status_code == 200


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,  # deeper than Python's recursion limit
    '{"name": "Initech", "external_id": "deep", "extra": ' + nested(200) + "}",
    '{"name": "Initech", "external_id": "deep", "extra": ' + "[" * 40 + "]" * 40 + "}",
], ids=["beyond the recursion limit", "200 objects deep", "40 arrays deep"])
def test_deeply_nested_json_is_400(api, mine, body):
    """JSON nested deeper than any request needs: 400, and nothing is created."""
    response = api.post("/api/v1/accounts", body, content_type="application/json")
    assert_problem(response, 400)
    assert "nested" in response.json()["detail"]
    assert not Account.objects.filter(external_id="deep").exists()


def test_shallow_nesting_is_accepted(api, mine):
    """Ordinary nesting (an install's values, unknown keys a few levels deep) still works."""
    body = '{"name": "Initech", "external_id": "shallow", "extra": ' + nested(5) + "}"
    assert api.post("/api/v1/accounts", body, content_type="application/json").status_code == 201


NUL_PATHS = [
    ("get", "/api/v1/accounts/{nul}"),
    ("patch", "/api/v1/accounts/{nul}"),
    ("delete", "/api/v1/accounts/{nul}"),
    ("get", "/api/v1/accounts/{nul}/installs"),
    ("post", "/api/v1/accounts/{nul}/installs"),
    ("post", "/api/v1/accounts/{nul}/install-links"),
    ("get", "/api/v1/connectors/{nul}"),
    ("get", "/api/v1/{nul}"),
    ("get", "/api/v1/proxy/{install}/{nul}"),
]


@pytest.mark.parametrize(("method", "path"), NUL_PATHS, ids=[f"{m} {p}" for m, p in NUL_PATHS])
def test_nul_in_a_path_segment_is_400(api, mine, method, path):
    """A NUL in any path segment: 400 (PostgreSQL cannot even compare such text)."""
    url = path.format(nul=quote("cust-1\x00x"), install=mine["install"])
    body = None if method == "get" else "{}"
    response = getattr(api, method)(url, body, content_type="application/json")
    assert_problem(response, 400)
    assert Account.objects.filter(external_id="cust-1").exists()


NUL_QUERIES = {"known parameter": {"q": "a\x00b"}, "unknown parameter": {"unknown": "a\x00b"},
               "parameter name": {"a\x00b": "1"}, "cursor": {"cursor": "a\x00b"}}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_nul_in_a_query_parameter_is_400(api, mine, endpoint):
    """A NUL in any query parameter's name or value, on every endpoint: 400, nothing done."""
    method, path, _, body = endpoint
    for case, query in NUL_QUERIES.items():
        url = path.format(**mine) + "?" + urlencode(query)
        response = getattr(api, method)(url, json.dumps(body) if body else None,
                                        content_type="application/json")
        assert response.status_code == 400, case
        assert_problem(response, 400)
    assert Account.objects.filter(external_id="cust-1").exists()
    assert not Account.objects.filter(external_id="cust-new").exists()


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/accounts", {"name": "Initech", "external_id": "e", "extra\x00": 1}),
    ("/api/v1/accounts", {"name": "Initech", "external_id": "e", "extra": ["a\x00"]}),
    ("/api/v1/accounts/cust-1/installs", {"connector": "sandbox-api-key\x00", "values": {}}),
    ("/api/v1/accounts/cust-1/installs", {"connector": "sandbox-api-key",
                                          "values": {"api_key\x00": "k"}}),
    ("/api/v1/accounts/cust-1/install-links", {"connectors": ["sandbox-api-key\x00"]}),
], ids=["key", "nested value", "connector slug", "values key", "link connector"])
def test_nul_anywhere_in_a_json_body_is_400(api, mine, path, body):
    """A NUL in any key or string of the body, also where no serializer field looks: 400."""
    response = api.post(path, json.dumps(body), content_type="application/json")
    assert_problem(response, 400)
    assert not Account.objects.filter(external_id="e").exists()


@pytest.mark.parametrize("url", [
    "/api/v1/events?install={huge}",
    "/api/v1/accounts?limit={huge}",
    "/api/v1/installs/{huge}",
    "/api/v1/installs/{huge}/credentials",
    "/api/v1/proxy/{huge}/me",
])
def test_integers_too_large_for_the_database_are_refused(api, mine, url):
    """An integer beyond 2^63 in a query or a path: a 400 or 404 problem, never a 500."""
    response = api.get(url.format(huge=HUGE))
    assert response.status_code in (200, 400, 404), response.content[:300]
    if response.status_code != 200:  # `limit` beyond the maximum is the maximum
        assert response["Content-Type"] == "application/problem+json"
