"""X-Request-ID: honoured when valid, else generated; returned; on every log line of the request."""

from __future__ import annotations

import json
import logging
import re

import pytest

from core.request_id import request_id_from

URL = "/healthz/live"


def test_an_id_is_generated_and_returned(client):
    """Without the header each response carries a new random id."""
    first, second = client.get(URL)["X-Request-ID"], client.get(URL)["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_valid_client_id_is_honoured(client):
    """A short id of safe characters (a proxy's, a uuid) comes back unchanged."""
    for value in ("3f2b8c1e-7a4d-4e1b-9c0a-5d6e7f8a9b0c", "lb:req.42_abc"):
        assert client.get(URL, headers={"X-Request-ID": value})["X-Request-ID"] == value


@pytest.mark.parametrize("value", [
    "short", "x" * 129, "has space here", "new\\nline-forged", "<script>alert</script>",
    "semi;colon=1234", "ünïcode-1234",
])
def test_an_invalid_client_id_is_replaced(value):
    """Too short, too long, or any character outside [A-Za-z0-9._:-]: a new id instead."""
    replaced = request_id_from(value)
    assert replaced != value and re.fullmatch(r"[0-9a-f]{32}", replaced)


def test_an_invalid_header_never_reaches_the_response(client):
    """The refused value is not echoed in the header."""
    response = client.get(URL, headers={"X-Request-ID": "bad id with spaces"})
    assert response["X-Request-ID"] != "bad id with spaces"


def test_log_lines_carry_the_request_and_partner_ids(other_client, other_partner, json_log):
    """A console request's log lines, even Django's 404 warning, carry both ids."""
    response = other_client.get("/connectors/no-such-connector/settings/",
                                headers={"X-Request-ID": "probe-request-0001"})
    assert response.status_code == 404
    entries = [json.loads(line) for line in json_log.getvalue().splitlines()]
    mine = [e for e in entries if e.get("request_id") == "probe-request-0001"]
    assert {e["logger"] for e in mine} >= {"hatchway.security", "django.request"}
    security = next(e for e in mine if e["logger"] == "hatchway.security")
    assert security["partner_id"] == other_partner.pk


def test_nothing_logged_after_the_request_carries_its_id(client, json_log):
    """Once the request has finished, later lines have no request id."""
    client.get(URL, headers={"X-Request-ID": "finished-request-01"})
    logging.getLogger("hatchway.test").warning("after the request")
    last = json.loads(json_log.getvalue().splitlines()[-1])
    assert last["message"] == "after the request" and "request_id" not in last
