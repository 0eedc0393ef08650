"""SECURITY.md "Outbound requests": a catalogue `pattern` cannot stall a request. Python's
`re` has no time limit, so a pattern that can backtrack catastrophically is refused when
the catalogue is loaded (`sync_connectors`), naming the file and the key; values matched
against the patterns that remain are capped in length by the forms."""

from __future__ import annotations

import re
import time

import pytest
from django.core.management.base import CommandError

from connectors.spec import CATALOG_DIR, CatalogError, backtracks, validate
from tests.connectors.test_sync_connectors import VALID_OAUTH2, snapshot, sync

STALLING = ["^(a+)+$", r"^(\w+\s?)*$", "^(a|aa)+$", "^([a-z0-9]+-?)*[a-z0-9]$", "^(a?a?)+$",
            "^(?:(?:[a-z]+)*\\.)+com$", "(?=(a+)+$)"]
FINE = ["^[a-z0-9][a-z0-9-]{0,62}$", "^(sk|rk)_(live|test)_[A-Za-z0-9]+$",
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "^(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$", "^api$"]


def test_such_a_pattern_really_stalls():
    """Why: `(a+)+$` takes seconds on 26 characters (doubling with each one more)."""
    started = time.monotonic()
    re.fullmatch("^(a+)+$", "a" * 22 + "!")
    assert time.monotonic() - started > 0.05


@pytest.mark.parametrize("pattern", STALLING)
def test_backtracking_patterns_are_recognised(pattern):
    """Nested variable repetition, or alternation under one, is recognised."""
    assert backtracks(pattern)


@pytest.mark.parametrize("pattern", FINE)
def test_flat_patterns_pass(pattern):
    """Flat patterns, fixed counts and alternations outside a repetition pass."""
    assert not backtracks(pattern)


def test_no_catalogue_pattern_backtracks():
    """Every pattern in connectors/catalog/ passes the check (the sync loads them all)."""
    patterns = re.findall(r'^pattern = "(.*)"$', "\n".join(
        path.read_text() for path in CATALOG_DIR.glob("*.toml")), re.MULTILINE)
    assert patterns
    assert not [p for p in patterns if backtracks(p.encode().decode("unicode_escape"))]


@pytest.fixture
def synced(db, tmp_path):
    """A synced catalogue directory holding one valid connector."""
    (tmp_path / "fake-crm.toml").write_text(VALID_OAUTH2)
    sync(tmp_path)
    return tmp_path


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^([a-z0-9]+-?)*$"])
def test_sync_refuses_a_backtracking_pattern_naming_file_and_key(synced, pattern):
    """sync_connectors exits with the file and the field's pattern key; nothing changes."""
    bad = VALID_OAUTH2.replace('pattern = "^[a-z0-9-]+$"', f'pattern = "{pattern}"')
    assert bad != VALID_OAUTH2
    (synced / "zzz-bad.toml").write_text(bad)
    before = snapshot()
    with pytest.raises(CommandError, match=r"zzz-bad\.toml: fields\[1\]\.pattern: nests"):
        sync(synced)
    assert snapshot() == before


def test_the_error_is_a_catalog_error():
    """validate() raises CatalogError (the sync's error type) for such a pattern."""
    data = {"name": "X", "description": "X.", "auth": {"type": "none"},
            "fields": [{"key": "subdomain", "label": "Subdomain", "pattern": "^(a+)+$"}]}
    with pytest.raises(CatalogError) as caught:
        validate("x.toml", "x", data)
    assert caught.value.key == "fields[0].pattern"
