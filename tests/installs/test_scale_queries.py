"""The console's lists at two sizes: the same number of queries, and keyset pages that a
person can walk forward and back; a page link the list never handed out is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, Partner
from audit.models import AuditEvent
from connectors.models import Connector
from core.keyset import COUNT_CAP, INVALID_CURSOR
from installs.models import Install

pytestmark = pytest.mark.django_db


def grow(partner: Partner, connector: Connector, accounts: int, *, start: int = 0) -> None:
    """`accounts` more accounts, each with 2 installs (one due) and 3 audit events."""
    made = Account.objects.bulk_create(
        Account(partner=partner, name=f"Customer {n:04}", external_id=f"ext-{n}")
        for n in range(start, start + accounts))
    soon = timezone.now() + timedelta(seconds=30)
    installs = Install.objects.bulk_create(
        Install(account=account, connector=connector, name=f"Install {n}",
                status=Install.Status.AUTHENTICATED, expires_at=soon + timedelta(days=n),
                credentials={"access_token": "fake-access"})
        for account in made for n in range(2))
    AuditEvent.objects.bulk_create(
        AuditEvent(partner=partner, account=install.account, install=install,
                   connector=connector, action="install.credentials_read",
                   actor_label="API key Fake")
        for install in installs for _ in range(3) if install.account in made)


def queries(client, url: str) -> int:
    client.get(url)  # warm: the session, the membership, the caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["/accounts/", "/accounts/?after={middle}",
                                  "/accounts/?before={middle}", "/accounts/?q=Customer",
                                  "/accounts/{first}/", "/accounts/needs-attention/"])
def test_console_lists_run_as_many_queries_at_60_accounts_as_at_6(admin_client, partner,
                                                                   connector, page):
    grow(partner, connector, 6)
    ids = list(Account.objects.filter(partner=partner).order_by("name")
               .values_list("pk", flat=True))
    url = page.format(middle=ids[3], first=ids[0])
    small = queries(admin_client, url)
    grow(partner, connector, 54, start=6)
    assert queries(admin_client, url) == small


def test_the_account_list_pages_forward_and_back_by_name(admin_client, partner, connector,
                                                         other_partner):
    grow(partner, connector, 60)
    Account.objects.create(partner=other_partner, name="Customer 0000 of Globex", external_id="g")
    by_name = {a.name: a.pk for a in Account.objects.filter(partner=partner)}
    first = admin_client.get("/accounts/").content.decode()
    assert "60 accounts" in first and "Globex" not in first
    assert "Customer 0000" in first and "Customer 0024" in first and "Customer 0025" not in first
    assert 'rel="prev"' not in first
    assert f'href="?after={by_name["Customer 0024"]}" rel="next"' in first

    second = admin_client.get(f"/accounts/?after={by_name['Customer 0024']}").content.decode()
    assert "Customer 0025" in second and "Customer 0049" in second
    assert "Customer 0024" not in second and "Customer 0050" not in second
    assert f'href="?before={by_name["Customer 0025"]}" rel="prev"' in second
    assert f'href="?after={by_name["Customer 0049"]}" rel="next"' in second

    last = admin_client.get(f"/accounts/?after={by_name['Customer 0049']}").content.decode()
    assert "Customer 0050" in last and "Customer 0059" in last and 'rel="next"' not in last

    back = admin_client.get(f"/accounts/?before={by_name['Customer 0025']}").content.decode()
    assert "Customer 0000" in back and "Customer 0024" in back and "Customer 0025" not in back
    assert 'rel="prev"' not in back  # the first page again
    assert f'href="?after={by_name["Customer 0024"]}" rel="next"' in back


def test_equal_names_are_paged_by_id_never_skipped_or_repeated(admin_client, partner):
    Account.objects.bulk_create(Account(partner=partner, name="Same", external_id=f"s-{n}")
                                for n in range(30))
    seen: list[str] = []
    url = "/accounts/"
    while url:
        html = admin_client.get(url).content.decode()
        seen += re.findall(r"<td>(s-\d+)</td>", html)
        nxt = html.partition('" rel="next"')[0].rpartition('href="')[2]
        url = f"/accounts/{nxt}" if 'rel="next"' in html else ""
    assert sorted(seen) == sorted(f"s-{n}" for n in range(30))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's query plan")
def test_a_deep_page_starts_its_index_scan_at_the_cursor(partner):
    """The keyset bound is an index condition, not a filter over every row before the page
    (bench/scale.py at 1M: 22,500 rows read and thrown away for a page in the middle)."""
    from core.keyset import _from_cursor

    Account.objects.bulk_create(Account(partner=partner, name=f"C{n:05}", external_id=f"c{n}")
                                for n in range(3000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_account")
    middle = Account.objects.get(name="C01500")
    with CaptureQueriesContext(connection) as captured:
        rows, _ = _from_cursor(Account.objects.filter(partner=partner), "name", 25,
                               after=str(middle.pk), before=None)
    assert [r.name for r in rows] == [f"C{n:05}" for n in range(1501, 1526)]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + captured.captured_queries[-1]["sql"])
        plan = str(cursor.fetchone()[0])
    assert "'Index Cond': " in plan and ">= 'C01500'" in plan
    removed = [int(n) for n in re.findall(r"'Rows Removed by Filter': (\d+)", plan)]
    assert sum(removed) < 100  # at most the rows sharing the cursor's name


def test_the_search_keeps_to_its_pages(admin_client, partner, connector):
    grow(partner, connector, 40)
    Account.objects.filter(external_id="ext-30").update(name="Zed Special")
    html = admin_client.get("/accounts/?q=special").content.decode()
    assert "1 account" in html and "Zed Special" in html and 'rel="next"' not in html


def test_the_total_is_capped(admin_client, partner):
    Account.objects.bulk_create(Account(partner=partner, name=f"C{n:05}", external_id=f"c{n}")
                                for n in range(COUNT_CAP + 1))
    assert f"{COUNT_CAP}+ accounts" in admin_client.get("/accounts/").content.decode()


@pytest.mark.parametrize("cursor", ["after=abc", "after=-1", "after=0", "before=1.5",
                                    "after=99999999999999999999999", "after=%EF%BC%91",
                                    "after={other}", "after={deleted}"])
def test_a_page_link_the_list_never_gave_is_refused_with_the_first_page(
        admin_client, partner, other_partner, cursor):
    Account.objects.create(partner=partner, name="Initech", external_id="i-1")
    other = Account.objects.create(partner=other_partner, name="Globex Corp", external_id="g-1")
    gone = Account.objects.create(partner=partner, name="Gone", external_id="x-1")
    gone_pk = gone.pk
    gone.delete()
    response = admin_client.get("/accounts/?" + cursor.format(other=other.pk, deleted=gone_pk))
    html = response.content.decode()
    assert response.status_code == 400
    assert INVALID_CURSOR in html
    assert "Initech" in html and "Globex" not in html


def test_a_search_hides_a_cursor_outside_it(admin_client, partner):
    kept = Account.objects.create(partner=partner, name="Initech", external_id="i-1")
    outside = Account.objects.create(partner=partner, name="Umbrella", external_id="u-1")
    assert admin_client.get(f"/accounts/?q=init&after={kept.pk}").status_code == 200
    assert admin_client.get(f"/accounts/?q=init&after={outside.pk}").status_code == 400


def test_needs_attention_counts_and_lists_up_to_the_cap(admin_client, partner, connector,
                                                        monkeypatch):
    """Past the cap the counts say "3+" and the list offers the first 3, most serious
    first, with a note; under it, exact counts."""
    monkeypatch.setattr("installs.attention.COUNT_CAP", 3)
    monkeypatch.setattr("core.paging.COUNT_CAP", 3)
    account = Account.objects.create(partner=partner, name="Initech", external_id="i-1")
    Install.objects.bulk_create(
        Install(account=account, connector=connector, name=f"Failing {n}",
                status=Install.Status.REFRESH_FAILING,
                expires_at=timezone.now() + timedelta(hours=n))
        for n in range(5))
    Install.objects.create(account=account, connector=connector, name="Reauth 0",
                           status=Install.Status.REAUTH_REQUIRED)
    html = admin_client.get("/accounts/needs-attention/").content.decode()
    assert "All (3+)" in html and "Refresh failing (3+)" in html
    assert "Reauthentication required (1)" in html and "Due for refresh (0)" in html
    assert "Reauth 0" in html and "Failing 0" in html and "Failing 1" in html
    assert "Failing 2" not in html
    assert "Showing the first 3" in html


def test_needs_attention_pages_run_across_the_kinds_in_order(admin_client, partner, connector,
                                                             monkeypatch):
    """Reauthentication first, then failing, then due, each by expiry: a page that ends
    inside one kind continues there on the next."""
    monkeypatch.setattr("installs.views.ATTENTION_PAGE_SIZE", 3)
    account = Account.objects.create(partner=partner, name="Initech", external_id="i-1")
    soon = timezone.now() + timedelta(seconds=30)
    for name, status, hours in (("R-late", "reauth_required", 2), ("R-early", "reauth_required", 1),
                                ("F-late", "refresh_failing", 2), ("F-early", "refresh_failing", 1),
                                ("D-only", "authenticated", 0)):
        Install.objects.create(account=account, connector=connector, name=name, status=status,
                               expires_at=soon + timedelta(hours=hours))

    def shown(url: str) -> list[str]:
        html = admin_client.get(url).content.decode()
        return re.findall(r">([RFD]-[a-z]+)</a>", html)

    assert shown("/accounts/needs-attention/") == ["R-early", "R-late", "F-early"]
    assert shown("/accounts/needs-attention/?page=2") == ["F-late", "D-only"]
    assert shown("/accounts/needs-attention/?show=failing") == ["F-early", "F-late"]
    assert shown("/accounts/needs-attention/?show=due") == ["D-only"]
