"""The move of installs, links and audit events out of `accounts` (issue: apps by concern).

The schema is built as of the last migrations before the move, rows are written through
the historical models -- an authenticated install with encrypted credentials and token
info kept in its values, an install link, audit events -- and everything is read back
through today's models after migrating to the end. Nothing is renamed or lost.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

BEFORE = [("accounts", "0002_initial"), ("connectors", "0001_initial")]
LATEST = [("audit", "0002_initial"), ("installs", "0003_token_info"),
          ("links", "0001_initial")]
TOKEN_INFO = {"scope": "read write", "instance_url": "https://eu1.crm.example"}
CREDENTIALS = {"access_token": "fake-access-moved", "refresh_token": "fake-refresh-moved"}


@pytest.fixture
def old_rows(migrator):
    """Rows written through the models as they were before the move."""
    old = migrator.apply_initial_migration(BEFORE)
    Partner = old.apps.get_model("accounts", "Partner")
    Account = old.apps.get_model("accounts", "Account")
    Install = old.apps.get_model("accounts", "Install")
    InstallLink = old.apps.get_model("accounts", "InstallLink")
    AuditEvent = old.apps.get_model("accounts", "AuditEvent")
    Connector = old.apps.get_model("connectors", "Connector")
    partner = Partner.objects.create(name="Acme", slug="acme")
    account = Account.objects.create(partner=partner, name="Initech", external_id="c-1")
    connector = Connector.objects.create(slug="crm-one", name="CRM One", auth_type="oauth2",
                                         spec_data={}, search_text="crm one")
    install = Install.objects.create(
        account=account, connector=connector, status="authenticated",
        values={"subdomain": "initech", "_token_info": TOKEN_INFO},
        credentials=CREDENTIALS, expires_at=timezone.now() + timedelta(hours=1))
    link = InstallLink.objects.create(account=account, token_hash="f" * 64, install=install,
                                      expires_at=timezone.now() + timedelta(days=1))
    link.connectors.set([connector])
    AuditEvent.objects.create(partner=partner, action="install.authenticated",
                              account=account, install=install, connector=connector,
                              detail={"previous_status": "pending"})
    return migrator, install.pk, link.pk


def test_rows_survive_the_move(old_rows):
    """Every row reads back through the new models; the token info has its own column."""
    migrator, install_id, link_id = old_rows
    new = migrator.apply_tested_migration(LATEST)
    Install = new.apps.get_model("installs", "Install")
    InstallLink = new.apps.get_model("links", "InstallLink")
    AuditEvent = new.apps.get_model("audit", "AuditEvent")
    install = Install.objects.get(pk=install_id)
    assert install.status == "authenticated"
    assert install.credentials == CREDENTIALS  # still decrypts
    assert install.values == {"subdomain": "initech"}
    assert install.token_info == TOKEN_INFO
    assert install.account.external_id == "c-1" and install.connector.slug == "crm-one"
    link = InstallLink.objects.get(pk=link_id)
    assert link.install_id == install_id
    assert list(link.connectors.values_list("slug", flat=True)) == ["crm-one"]
    event = AuditEvent.objects.get()
    assert (event.install_id, event.action) == (install_id, "install.authenticated")


def test_tables_keep_their_names(old_rows):
    """The move renames no table: accounts_install and its neighbours are still there."""
    migrator, _, _ = old_rows
    migrator.apply_tested_migration(LATEST)
    tables = set(connection.introspection.table_names())
    assert {"accounts_install", "accounts_authattempt", "accounts_pendingrevocation",
            "accounts_installlink", "accounts_installlink_connectors",
            "accounts_auditevent"} <= tables
    assert not {"installs_install", "links_installlink", "audit_auditevent"} & tables


def test_content_types_follow_the_models(old_rows):
    """Permissions and admin history keep pointing at the moved models."""
    migrator, _, _ = old_rows
    ContentType.objects.get_or_create(app_label="accounts", model="install")
    migrator.apply_tested_migration(LATEST)
    assert ContentType.objects.filter(app_label="installs", model="install").exists()
    assert not ContentType.objects.filter(app_label="accounts", model="install").exists()
