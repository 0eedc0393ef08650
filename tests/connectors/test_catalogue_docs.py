"""Issue 22 item 6: `manage.py catalogue_docs` writes docs/connectors.md (coverage by
category, by auth mode, and the list), and `--check` fails when it is stale."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from connectors.coverage import DOCS_PATH, coverage_markdown
from connectors.schema import AUTH_TYPE_LABELS
from connectors.spec import load_catalog

CATALOG = load_catalog()
REAL = {slug: data for slug, data in CATALOG.items() if not slug.startswith("sandbox-")}


def test_the_committed_page_is_current():
    out = StringIO()
    call_command("catalogue_docs", "--check", stdout=out)
    assert "connectors.md is up to date" in out.getvalue()


def test_check_fails_on_a_stale_page_and_writing_fixes_it(tmp_path):
    page = tmp_path / "connectors.md"
    page.write_text(DOCS_PATH.read_text().replace("[Salesforce]", "[Salesfarce]", 1))
    assert page.read_text() != DOCS_PATH.read_text()
    with pytest.raises(CommandError, match="connectors.md is stale"):
        call_command("catalogue_docs", "--check", path=page, stdout=StringIO())
    with pytest.raises(CommandError, match="stale"):
        call_command("catalogue_docs", "--check", path=tmp_path / "missing.md",
                     stdout=StringIO())
    call_command("catalogue_docs", path=page, stdout=StringIO())
    call_command("catalogue_docs", "--check", path=page, stdout=StringIO())


def test_the_page_lists_every_real_connector_once_and_no_sandbox_entry():
    text = coverage_markdown(CATALOG)
    listing = text.split("## All connectors", 1)[1]
    listed = re.findall(r"^\| .+? \| `([a-z0-9-]+)` \|", listing, re.MULTILINE)
    assert sorted(listed) == sorted(REAL)
    assert f"{len(REAL)} connectors in " in text
    assert "sandbox-oauth2" not in text and "| Sandbox |" not in text


def test_category_and_auth_mode_counts_match_the_catalogue():
    text = coverage_markdown(CATALOG)
    categories = Counter(c for data in REAL.values() for c in data["categories"])
    for category, count in categories.items():
        assert f"| {category} | {count} |" in text, category
    modes = Counter(data["auth"]["type"] for data in REAL.values())
    for mode, count in modes.items():
        assert f"| {AUTH_TYPE_LABELS[mode]} | `{mode}` | {count} |" in text, mode
