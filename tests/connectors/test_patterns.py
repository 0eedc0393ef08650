"""connectors/patterns.py and SECURITY.md "Outbound requests": a catalogue `pattern` cannot
stall a request. Patterns run on RE2, in time linear in the value; syntax RE2 refuses
(backreferences, lookaround) is refused when the catalogue is loaded, naming the file and
the key, and the sync changes nothing."""

from __future__ import annotations

import re
import time

import pytest
from django.core.management.base import CommandError

from connectors.forms import PatternValidator
from connectors.patterns import fullmatches
from connectors.schema import FieldSpec
from connectors.spec import CatalogError, validate
from tests.connectors.test_sync_connectors import VALID_OAUTH2, snapshot, sync

STALLING = ["^(a+)+$", r"^(\w+\s?)*$", "^(a|aa)+$", "^([a-z0-9]+-?)*[a-z0-9]$", "^(a?a?)+$",
            "^(?:(?:[a-z]+)*\\.)+com$"]
REFUSED = {r"^(a)\1$": "backreference", "^(?=a)a$": "lookahead", "^(?!a).$": "lookahead",
           "^(?<=a)b$": "lookbehind", "^a++$": "possessive repeat", r"^a\Z": "\\Z"}
HOSTILE = "a" * 5000 + "!"


def test_such_a_pattern_really_stalls_pythons_re():
    """Why: `(a+)+$` takes seconds in `re` on 26 characters (doubling with each one more)."""
    started = time.monotonic()
    re.fullmatch("^(a+)+$", "a" * 22 + "!")
    assert time.monotonic() - started > 0.05


@pytest.mark.parametrize("pattern", STALLING)
def test_patterns_that_stall_re_run_in_linear_time_on_re2(pattern):
    """Each takes well under a second on a 5,000-character hostile value, and still matches."""
    started = time.monotonic()
    assert not fullmatches(pattern, HOSTILE)
    assert time.monotonic() - started < 0.5
    assert fullmatches("^(a+)+$", "aaaa")


@pytest.mark.parametrize("pattern", list(REFUSED))
def test_syntax_re2_refuses_names_the_file_and_key(pattern):
    """validate() raises CatalogError at fields[0].pattern with RE2's own reason."""
    data = {"name": "X", "description": "X.", "auth": {"type": "none"},
            "fields": [{"key": "subdomain", "label": "Subdomain", "pattern": pattern}]}
    with pytest.raises(CatalogError) as caught:
        validate("x.toml", "x", data)
    assert (caught.value.source, caught.value.key) == ("x.toml", "fields[0].pattern")
    assert "is not a pattern RE2 accepts (" in str(caught.value)


def test_the_forms_match_with_re2():
    """The settings form's validator accepts a match and refuses a hostile value at once."""
    validator = PatternValidator(FieldSpec(key="subdomain", label="Subdomain",
                                           pattern="^([a-z0-9]+-?)*[a-z0-9]$"))
    validator("acme-corp")
    started = time.monotonic()
    with pytest.raises(Exception, match="format it is issued in"):
        validator("a" * 200 + "!")
    assert time.monotonic() - started < 0.5


@pytest.fixture
def synced(db, tmp_path):
    """A synced catalogue directory holding one valid connector."""
    (tmp_path / "fake-crm.toml").write_text(VALID_OAUTH2)
    sync(tmp_path)
    return tmp_path


def test_sync_refuses_a_backreference_naming_file_and_key(synced):
    """sync_connectors exits with the file and the field's pattern key; nothing changes."""
    bad = VALID_OAUTH2.replace('pattern = "^[a-z0-9-]+$"', 'pattern = "^([a-z])\\\\1$"')
    assert bad != VALID_OAUTH2
    (synced / "zzz-bad.toml").write_text(bad)
    before = snapshot()
    with pytest.raises(CommandError, match=r"zzz-bad\.toml: fields\[1\]\.pattern: is not a "):
        sync(synced)
    assert snapshot() == before
