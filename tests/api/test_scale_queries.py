"""The partner API's lists at two sizes: the same number of queries however many rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import Install
from tests.factories import catalogue_connector

pytestmark = pytest.mark.django_db


def grow(partner, accounts: int, *, start: int = 0) -> None:
    """`accounts` more accounts, each with 2 installs and 3 events an install."""
    connector = catalogue_connector("sandbox-api-key")
    made = Account.objects.bulk_create(
        Account(partner=partner, name=f"Customer {n:04}", external_id=f"ext-{n}")
        for n in range(start, start + accounts))
    installs = Install.objects.bulk_create(
        Install(account=account, connector=connector, name=f"Install {n}",
                status=Install.Status.AUTHENTICATED, credentials={"api_key": "fake-key"})
        for account in made for n in range(2))
    AuditEvent.objects.bulk_create(
        AuditEvent(partner=partner, account=install.account, install=install,
                   connector=connector, action="install.credentials_read",
                   actor_label="API key Fake")
        for install in installs for _ in range(3))


def queries(api, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, (url, response.content)
    return len(captured.captured_queries)


@pytest.mark.parametrize("path", [
    "/api/v1/accounts?limit=5", "/api/v1/accounts/ext-0/installs",
    "/api/v1/events?limit=5", "/api/v1/events?account=ext-0",
    "/api/v1/events?install={install}", "/api/v1/events?account=ext-0&since=2000-01-01T00:00:00Z",
])
def test_api_lists_run_as_many_queries_at_60_accounts_as_at_6(api, partner, catalog, path):
    grow(partner, 6)
    url = path.format(install=Install.objects.order_by("pk").first().pk)
    api.get(url)  # warm: the key's caches
    small = queries(api, url)
    grow(partner, 54, start=6)
    assert queries(api, url) == small


def test_the_next_page_costs_what_the_first_does(api, partner, catalog):
    grow(partner, 30)
    first = api.get("/api/v1/accounts?limit=5").json()
    assert len(first["results"]) == 5 and first["next"]
    assert queries(api, first["next"]) == queries(api, "/api/v1/accounts?limit=5")
