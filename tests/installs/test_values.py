"""The partner settings behind an install's method, and their one read per worker pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from installs.models import Install
from installs.values import SavedSettings, Setup, with_settings_saved_at
from tests.factories import configure
from tests.installs.conftest import make_install

pytestmark = pytest.mark.django_db


def settings_reads(queries: CaptureQueriesContext) -> int:
    """Queries that read the settings table itself (not the claim's saved_at subquery)."""
    return sum(1 for q in queries.captured_queries
               if q["sql"].startswith('SELECT "connectors_partnerauthsettings"."id"'))


def claimed(install: Install) -> Install:
    """The install as a worker's claim loads it: with the settings' saved_at annotated."""
    return with_settings_saved_at(Install.objects.for_update().filter(pk=install.pk)).get()


def test_installs_sharing_settings_read_them_once_per_pass(account, connector):
    """Two installs of one partner and connector: one read (and decryption) of the settings."""
    configure(account.partner, connector)
    first, second = (make_install(account, connector, n=n) for n in (1, 2))
    reads = SavedSettings()
    with CaptureQueriesContext(connection) as queries:
        values = [Setup.of(claimed(i), saved=reads).values for i in (first, second)]
    assert settings_reads(queries) == 1
    assert values[0]["client_secret"] == values[1]["client_secret"] == "fake-client-secret-123"


def test_settings_saved_during_the_pass_are_read_again(account, connector):
    """A save changes saved_at: the next install of the pass gets the new values."""
    saved = configure(account.partner, connector)
    first, second = (make_install(account, connector, n=n) for n in (1, 2))
    reads = SavedSettings()
    assert Setup.of(claimed(first), saved=reads).values["client_id"] == "fake-client-id"
    saved.values = {"client_id": "fake-new-client-id"}
    saved.saved_at += timedelta(seconds=1)
    saved.save()
    assert Setup.of(claimed(second), saved=reads).values["client_id"] == "fake-new-client-id"


def test_without_the_annotation_settings_are_read_each_time(account, connector):
    """An install loaded another way (a console request) is never served a cached copy."""
    configure(account.partner, connector)
    install = make_install(account, connector)
    reads = SavedSettings()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            assert Setup.of(install, saved=reads).values["client_id"] == "fake-client-id"
    assert settings_reads(queries) == 2


def test_a_claim_never_loads_the_partner_logo(account, connector):
    """The row lock's query leaves the logo bytes in the database (deferred)."""
    install = make_install(account, connector)
    locked = Install.objects.for_update().get(pk=install.pk)
    assert "logo" in locked.account.partner.get_deferred_fields()
