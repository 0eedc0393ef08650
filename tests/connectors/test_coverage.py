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
from connectors.spec import CatalogError, load_catalog

CATALOG = load_catalog()
LISTED = {slug: data for slug, data in CATALOG.items() if not slug.startswith("sandbox-")}
COPIES = {slug for slug, data in LISTED.items() if data.get("variant_of")}
REAL = {slug: data for slug, data in LISTED.items()
        if slug not in COPIES and slug != "1st-connect"}


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
    listing, apart = text.split("## All connectors", 1)[1].split("## Listed but not counted")
    listed = re.findall(r"^\| .+? \| `([a-z0-9-]+)` \|", listing, re.MULTILINE)
    assert sorted(listed) == sorted(REAL)
    not_counted = re.findall(r"^\| .+? \| `([a-z0-9-]+)` \|", apart, re.MULTILINE)
    assert sorted(not_counted) == sorted({*COPIES, "1st-connect"})
    assert "| `zoho-crm-eu` | a regional or test-environment copy of `zoho-crm` |" in apart
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


def test_regional_and_test_copies_are_not_counted():
    """Issue 22: regional and sandbox variants count only where they are separate apps."""
    assert {"zoho-crm-eu", "intercom-au", "mailgun-eu", "salesforce-sandbox"} <= COPIES
    assert "zoho-crm" in REAL and "zoho-crm-eu" not in REAL


@pytest.mark.parametrize("variant_of", ["copy", "missing", "other"])
def test_variant_of_must_name_another_entry_that_is_no_copy(tmp_path, variant_of):
    source = DOCS_PATH.parent.parent / "connectors" / "catalog" / "open-meteo.toml"
    (tmp_path / "other.toml").write_text(source.read_text().replace(
        'name = "Open-Meteo"', 'name = "Other"\nvariant_of = "open-meteo"'))
    (tmp_path / "open-meteo.toml").write_text(source.read_text())
    (tmp_path / "copy.toml").write_text(source.read_text().replace(
        'name = "Open-Meteo"', f'name = "Copy"\nvariant_of = "{variant_of}"'))
    with pytest.raises(CatalogError, match="copy.toml: variant_of: must name another"):
        load_catalog(tmp_path)


def test_a_variant_of_a_real_entry_loads(tmp_path):
    source = DOCS_PATH.parent.parent / "connectors" / "catalog" / "open-meteo.toml"
    (tmp_path / "open-meteo.toml").write_text(source.read_text())
    (tmp_path / "copy.toml").write_text(source.read_text().replace(
        'name = "Open-Meteo"', 'name = "Copy"\nvariant_of = "open-meteo"'))
    catalog = load_catalog(tmp_path)
    assert catalog["copy"]["variant_of"] == "open-meteo"
    assert "| Copy | `copy` | a regional or test-environment copy of `open-meteo` |" in (
        coverage_markdown(catalog))


def test_the_catalogue_is_deep_enough():
    """Issue 22's must-holds: at least 400 real connectors (copies and the illustration not
    counted) in at least 12 categories, and every auth mode used by at least 2 of them."""
    assert len(REAL) >= 400
    assert len({c for data in REAL.values() for c in data["categories"]}) >= 12
    modes = Counter(data["auth"]["type"] for data in REAL.values())
    assert set(modes) == set(AUTH_TYPE_LABELS), set(AUTH_TYPE_LABELS) - set(modes)
    assert min(modes.values()) >= 2, modes
