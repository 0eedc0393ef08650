"""`manage.py sync_connectors`: idempotent, retires rather than deletes, revives, and a bad
file stops the whole run with a message naming the file and the key, changing nothing."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Account
from connectors.models import Category, Connector, PartnerAuthSettings
from connectors.spec import CATALOG_DIR
from installs.models import Install

VALID_OAUTH2 = """
name = "Fake CRM"
description = "A made-up CRM for the malformed-file tests."
categories = ["CRM"]

[auth]
type = "oauth2"
authorize_url = "https://{subdomain}.fakecrm.example/oauth/authorize"
token_url = "https://{subdomain}.fakecrm.example/oauth/token"

[[fields]]
key = "client_id"
label = "Client ID"

[[fields]]
key = "subdomain"
label = "Subdomain"
level = "account"
pattern = "^[a-z0-9-]+$"
"""


def sync(catalog: Path) -> str:
    out = StringIO()
    call_command("sync_connectors", catalog=catalog, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, Any]:
    """Everything a sync may touch, to prove a failed one touched nothing."""
    return {
        "connectors": list(Connector.objects.order_by("slug").values_list(
            "slug", "name", "description", "auth_type", "spec_data", "retired_at",
            "synced_at")),
        "categories": list(Category.objects.order_by("name").values_list("name", flat=True)),
        "links": sorted(Connector.categories.through.objects.values_list(
            "connector__slug", "category__name")),
        "settings": PartnerAuthSettings.objects.count(),
        "installs": Install.objects.count(),
    }


@pytest.fixture
def catalog_dir(tmp_path) -> Path:
    """A private copy of the shipped catalogue that tests may edit."""
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, directory)
    return directory


@pytest.fixture
def synced(db, catalog_dir) -> Path:
    sync(catalog_dir)
    return catalog_dir


def test_first_sync_adds_every_connector_with_its_categories(db, catalog_dir):
    """A first run adds one connector per file and creates the categories they name."""
    count = len(list(catalog_dir.glob("*.toml")))
    assert f"{count} added, 0 updated, 0 unchanged, 0 retired" in sync(catalog_dir)
    assert Connector.objects.count() == count
    xero = Connector.objects.get(slug="xero")
    assert list(xero.categories.values_list("name", flat=True)) == ["Accounting"]
    assert xero.category_names == ["Accounting"]
    assert "accounting" in xero.search_text


def test_second_sync_changes_nothing(synced):
    """Running again adds and updates nothing and leaves every row as it was."""
    before = snapshot()
    count = len(list(synced.glob("*.toml")))
    assert f"0 added, 0 updated, {count} unchanged, 0 retired" in sync(synced)
    assert snapshot() == before


def test_an_edited_file_updates_its_connector(synced):
    """Changing a file updates that connector only."""
    path = synced / "stripe.toml"
    path.write_text(path.read_text().replace('name = "Stripe"', 'name = "Stripe Payments"'))
    assert "0 added, 1 updated" in sync(synced)
    assert Connector.objects.get(slug="stripe").name == "Stripe Payments"
    assert Connector.objects.get(slug="stripe").spec.name == "Stripe Payments"


def test_removed_file_retires_the_connector_and_keeps_settings_and_installs(synced, partner,
                                                                            alice):
    """A connector whose file is gone is retired; its partner settings and installs remain."""
    trello = Connector.objects.get(slug="trello")
    PartnerAuthSettings.objects.create(partner=partner, connector=trello,
                                       values={"consumer_key": "fake-consumer-key-123"},
                                       secret_values={"consumer_secret": "fake-secret-123"})
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account, connector=trello, created_by=alice)
    (synced / "trello.toml").unlink()

    output = sync(synced)
    assert "0 added, 0 updated" in output and "1 retired" in output
    trello.refresh_from_db()
    assert trello.retired_at is not None
    assert not Connector.objects.active(None).filter(slug="trello").exists()
    settings = PartnerAuthSettings.objects.get(partner=partner, connector=trello)
    assert settings.value("consumer_secret") == "fake-secret-123"
    assert Install.objects.get(pk=install.pk).connector_id == trello.pk


def test_retiring_is_reported_once(synced):
    """The run that notices a file is gone reports it retired; later runs do not again."""
    (synced / "tumblr.toml").unlink()
    assert "1 retired" in sync(synced)
    retired_at = Connector.objects.get(slug="tumblr").retired_at
    assert "0 retired" in sync(synced)
    assert Connector.objects.get(slug="tumblr").retired_at == retired_at


def test_returning_file_revives_the_connector(synced, partner):
    """Putting the file back clears retired_at and keeps the partner's settings attached."""
    saved = (synced / "github.toml").read_text()
    github = Connector.objects.get(slug="github")
    PartnerAuthSettings.objects.create(partner=partner, connector=github,
                                       values={"client_id": "fake-client-id"})
    (synced / "github.toml").unlink()
    sync(synced)
    assert Connector.objects.get(slug="github").retired_at is not None

    (synced / "github.toml").write_text(saved)
    assert "0 added, 1 updated" in sync(synced)
    github.refresh_from_db()
    assert github.retired_at is None
    assert Connector.objects.active(None).filter(slug="github").exists()
    assert PartnerAuthSettings.objects.get(connector=github).value("client_id") == "fake-client-id"


MALFORMED = {
    "bad TOML syntax": ('name = "Broken\n', "(syntax)"),
    "unknown top-level key": (VALID_OAUTH2 + 'colour = "red"\n', "colour"),
    "unknown auth key": (VALID_OAUTH2.replace('type = "oauth2"',
                                              'type = "oauth2"\ntokne_url = "https://x.example"'),
                         "auth.tokne_url"),
    "oauth2 without token_url": (VALID_OAUTH2.replace(
        'token_url = "https://{subdomain}.fakecrm.example/oauth/token"\n', ""), "auth.token_url"),
    "http:// URL": (VALID_OAUTH2.replace("https://{subdomain}.fakecrm.example/oauth/authorize",
                                         "http://fakecrm.example/oauth/authorize"),
                    "auth.authorize_url"),
    "placeholder naming no field": (VALID_OAUTH2.replace("{subdomain}.fakecrm.example/oauth/t",
                                                         "{tenant}.fakecrm.example/oauth/t"),
                                    "auth.token_url"),
    "bad regex pattern": (VALID_OAUTH2.replace('"^[a-z0-9-]+$"', '"^[a-z0-9-+$"'),
                          "fields[1].pattern"),
    "authorize_params placeholder naming no field": (VALID_OAUTH2.replace(
        'type = "oauth2"', 'type = "oauth2"\nauthorize_params = { audience = "https://{nope}" }'),
        "auth.authorize_params"),
    "unknown auth type": (VALID_OAUTH2.replace('type = "oauth2"', 'type = "oauth3"'), "auth.type"),
    "required field key missing": (VALID_OAUTH2.replace('key = "client_id"', 'key = "app_id"'),
                                   "fields"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_file_fails_naming_file_and_key_and_changes_nothing(synced, partner, case):
    """A bad file aborts the run: CommandError names file and key; no row changes."""
    github = Connector.objects.get(slug="github")
    PartnerAuthSettings.objects.create(partner=partner, connector=github,
                                       values={"client_id": "fake-client-id"})
    text, key = MALFORMED[case]
    # Alongside the bad file: a new valid file, an edited one and a removed one, none of
    # which may be applied when the run fails.
    (synced / "aaa-new-valid.toml").write_text(VALID_OAUTH2)
    stripe = synced / "stripe.toml"
    stripe.write_text(stripe.read_text().replace('name = "Stripe"', 'name = "Stripe Edited"'))
    (synced / "trello.toml").unlink()
    (synced / "zzz-bad.toml").write_text(text)
    before = snapshot()

    with pytest.raises(CommandError) as raised:
        sync(synced)

    message = str(raised.value)
    assert "zzz-bad.toml" in message
    assert key in message
    assert "nothing changed" in message.lower()
    assert snapshot() == before
    assert not Connector.objects.filter(slug="aaa-new-valid").exists()
    assert Connector.objects.get(slug="stripe").name == "Stripe"
    assert Connector.objects.get(slug="trello").retired_at is None
    github.refresh_from_db()
    assert github.retired_at is None and github.spec.name == "GitHub"


def test_the_valid_template_of_the_malformed_cases_does_load(synced):
    """Control: the file the malformed cases start from is itself valid."""
    (synced / "zzz-bad.toml").write_text(VALID_OAUTH2)
    assert "1 added, 0 updated" in sync(synced)
    assert Connector.objects.get(slug="zzz-bad").spec.field("subdomain").level == "account"


def test_bad_file_name_is_refused(synced):
    """A file whose stem is not a valid slug is refused by name."""
    (synced / "Bad_Name.toml").write_text(VALID_OAUTH2)
    before = snapshot()
    with pytest.raises(CommandError, match=r"Bad_Name\.toml: \(file name\)"):
        sync(synced)
    assert snapshot() == before


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_missing_or_empty_catalogue_directory_retires_nothing(synced, tmp_path, where):
    """A mistyped --catalog (no such directory, or no files) fails instead of retiring all."""
    directory = tmp_path / where
    if where == "empty":
        directory.mkdir()
    before = snapshot()
    with pytest.raises(CommandError, match="no catalogue files"):
        sync(directory)
    assert snapshot() == before
    assert not Connector.objects.filter(retired_at__isnull=False).exists()


def check(catalog: Path) -> str:
    out = StringIO()
    call_command("sync_connectors", catalog=catalog, check=True, stdout=out)
    return out.getvalue()


def test_check_validates_the_shipped_catalogue_without_writing(db):
    """`--check` reports the count and writes no row."""
    assert f"Catalogue valid: {len(list(CATALOG_DIR.glob('*.toml')))} connectors." in check(
        CATALOG_DIR)
    assert not Connector.objects.exists() and not Category.objects.exists()


def test_check_fails_naming_file_and_key_and_changes_nothing(synced):
    """A bad file makes `--check` fail (non-zero exit) with file and key; rows stay as they were."""
    (synced / "zzz-bad.toml").write_text(VALID_OAUTH2.replace(
        'type = "oauth2"', 'type = "oauth2"\nbody_format = "xml"'))
    (synced / "stripe.toml").unlink()
    before = snapshot()
    with pytest.raises(CommandError, match=r"zzz-bad\.toml: auth\.body_format"):
        check(synced)
    assert snapshot() == before


BULK = """
name = "Bulk {n:03d}"
description = "A bulk connector."
categories = ["Bulk"]

[auth]
type = "none"
"""


def test_progress_every_hundred_connectors_then_a_summary(db, tmp_path):
    """250 files: a progress line with counts at 100, 200 and 250, then the summary."""
    for n in range(250):
        (tmp_path / f"bulk-{n:03d}.toml").write_text(BULK.format(n=n))
    lines = sync(tmp_path).splitlines()
    assert lines[:3] == [
        "Connectors: 100/250 (40%), 100 added, 0 updated",
        "Connectors: 200/250 (80%), 200 added, 0 updated",
        "Connectors: 250/250 (100%), 250 added, 0 updated",
    ]
    assert lines[3].startswith("Connectors: 250 added, 0 updated, 0 unchanged, 0 retired in ")
    assert len(lines) == 4
