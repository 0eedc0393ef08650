"""Page numbers on every paginated console list: beyond the last page, at or beyond 2^63
(past any database's integer), or not a number -- the last page (or the first), never a 500
(issue 19 item 12)."""

from __future__ import annotations

import pytest

from accounts.models import Account
from installs.models import Install
from tests.factories import catalogue_connector
from webhooks import services as webhooks

NUMBERS = ["3", "999999", str(2**63 - 1), str(2**63), str(2**64), "9" * 60,
           "-" + str(2**63), "1e400", "nan", "inf", "١٢"]


@pytest.fixture
def lists(partner, catalog) -> list[str]:
    """Every paginated console list, each with rows to page through."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    for n in range(2):
        Install.objects.create(account=account, connector=catalogue_connector("sandbox-api-key"),
                               name=f"Broken {n}", status=Install.Status.REAUTH_REQUIRED)
    endpoint, _ = webhooks.create_endpoint(partner=partner, url="https://hooks.example.com/in")
    return ["/connectors/", "/connectors/guides/", "/accounts/",
            f"/accounts/{account.pk}/install/", "/accounts/needs-attention/",
            f"/webhooks/{endpoint.pk}/", f"/webhooks/{endpoint.pk}/?failed=1"]


def test_page_numbers_never_fail(admin_client, lists):
    """Each list, each page number: 200 (the last or the first page) or 404, never a 500."""
    admin_client.raise_request_exception = False
    for url in lists:
        for number in NUMBERS:
            joined = f"{url}{'&' if '?' in url else '?'}page={number}"
            response = admin_client.get(joined)
            assert response.status_code in (200, 404), (joined, response.status_code)


def test_beyond_the_last_page_is_the_last_page(admin_client, lists):
    """A number past the end, even 2^63, shows the library's last page like page 999 does."""
    last = admin_client.get("/connectors/?page=999").context["page"]
    assert last.number == last.paginator.num_pages > 1
    for number in (str(2**63), str(2**64), "9" * 60):
        page = admin_client.get(f"/connectors/?page={number}").context["page"]
        assert page.number == last.number
        assert [c.slug for c in page] == [c.slug for c in last]
