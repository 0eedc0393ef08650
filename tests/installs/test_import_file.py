"""installs.import_file: one import line parsed and checked, scopes, long lines skipped.
(The whole command against the sandbox: tests/installs/test_import_command.py.)"""

from __future__ import annotations

import io
import json

import pytest

from installs.import_file import LineError, parse, read_lines, with_scopes

GOOD = {"account": {"external_id": "cust-1", "name": "Initech"}, "connector": "acme",
        "credentials": {"access_token": "fake-a"}}


def test_a_good_line_gets_its_defaults():
    assert parse(json.dumps(GOOD)) == {
        "account": {"external_id": "cust-1", "name": "Initech"}, "connector": "acme",
        "name": "", "credentials": {"access_token": "fake-a"}, "values": {}, "scopes": []}


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({**GOOD, "account": "cust-1"}), "account must be an object"),
    (json.dumps({**GOOD, "account": {"external_id": 7}}), "account must be an object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "connector"}), "connector is missing"),
    (json.dumps({**GOOD, "credentials": "fake-a"}), "credentials is of the wrong type"),
    (json.dumps({**GOOD, "extra": 1, "another": 2}), "unknown key: another, extra"),
    (json.dumps({**GOOD, "values": {"subdomain": 3}}), "values must be text"),
    (json.dumps({**GOOD, "scopes": ["read write"]}), "scopes must be a list of scope tokens"),
    (json.dumps({**GOOD, "scopes": [""]}), "scopes must be a list of scope tokens"),
])
def test_bad_lines_name_the_problem_never_a_value(line, problem):
    with pytest.raises(LineError) as refused:
        parse(line)
    assert str(refused.value).startswith(problem)
    assert "fake-a" not in str(refused.value)


def test_scopes_become_the_granted_scope_of_oauth2_credentials_only():
    line = {"credentials": {"refresh_token": "fake-r"}, "scopes": ["read", "write"]}
    assert with_scopes(line) == {"refresh_token": "fake-r", "scope": "read write"}
    given = {"credentials": {"access_token": "fake-a", "scope": "read"}, "scopes": ["write"]}
    assert with_scopes(given)["scope"] == "read"  # what the credentials say wins
    api_key = {"credentials": {"api_key": "fake-k"}, "scopes": ["read"]}
    assert with_scopes(api_key) == {"api_key": "fake-k"}


def test_read_lines_numbers_lines_skips_blanks_and_overlong_ones():
    stream = io.StringIO("first\n\n   \n" + "x" * 25 + "\nlast")
    assert list(read_lines(stream, max_length=10)) == [(1, "first\n"), (4, None), (5, "last")]


def test_a_file_names_the_partners_own_custom_connector_never_anothers(partner, other_partner):
    """`import_installs` finds the partner's custom connectors; another partner's slug is
    as unknown as one that does not exist (issue 20 §1, isolation)."""
    from connectors import custom
    from installs.import_file import FileImport
    from installs.models import Install

    custom.create(partner=partner, actor=None, data={
        "slug": "acme-crm", "name": "Acme CRM", "description": "Our own CRM.",
        "auth": {"type": "api_key", "header": "X-Key"},
        "fields": [{"key": "api_key", "label": "API key", "level": "account",
                    "secret": True}]})
    line = json.dumps({"account": {"external_id": "cust-1", "name": "Initech"},
                       "connector": "acme-crm", "credentials": {},
                       "values": {"api_key": "fake-key"}})
    with pytest.raises(LineError, match="no connector 'acme-crm'"):
        FileImport(other_partner, verify=False).line(line)
    FileImport(partner, verify=False).line(line)
    assert Install.objects.get().connector.owner == partner
