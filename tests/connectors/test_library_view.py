"""The Application Connector Library: search, filters, padlocks, pagination, query count."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connectors import cards
from connectors.models import Catalogue, Category, Connector, PartnerAuthSettings
from connectors.services import save_auth_settings
from connectors.sync import sync_catalog
from core import fields as crypto
from core.health import WORKER_MISSING_KEY
from links import services as links

URL = reverse("connectors:library")

OAUTH1 = """
name = "{name}"
description = "{description}"
categories = [{categories}]

[auth]
type = "oauth1"
request_token_url = "https://api.example.com/oauth/request_token"
authorize_url = "https://app.example.com/oauth/authorize"
access_token_url = "https://api.example.com/oauth/access_token"

[[fields]]
key = "consumer_key"
label = "Consumer Key"

[[fields]]
key = "consumer_secret"
label = "Consumer Secret"
secret = true
"""

API_KEY = """
name = "{name}"
description = "{description}"
categories = [{categories}]

[auth]
type = "api_key"
header = "Authorization"
prefix = "Bearer "

[[fields]]
key = "partner_ref"
label = "Partner reference"
required = false

[[fields]]
key = "api_key"
label = "API key"
level = "account"
secret = true
"""

# No partner-level field: "Ready" without a Save.
ACCOUNT_ONLY = """
name = "{name}"
description = "{description}"
categories = [{categories}]

[auth]
type = "basic"

[[fields]]
key = "username"
label = "Username"
level = "account"

[[fields]]
key = "password"
label = "Password"
level = "account"
secret = true
"""


def write_catalog(directory: Path, entries: dict[str, tuple[str, str, str, list[str]]]) -> None:
    """Catalogue files {slug: (template, name, description, categories)}, then sync them."""
    for slug, (template, name, description, categories) in entries.items():
        text = template.format(name=name, description=description,
                               categories=", ".join(f'"{c}"' for c in categories))
        (directory / f"{slug}.toml").write_text(text)
    sync_catalog(directory)


@pytest.fixture
def small_catalog(db, tmp_path) -> None:
    write_catalog(tmp_path, {
        "1st-connect": (OAUTH1, "1st Connect", "CRM contacts over OAuth.", ["CRM"]),
        "ledgerly": (API_KEY, "Ledgerly", "Invoices and bookkeeping.", ["Accounting"]),
        "pipeworks": (API_KEY, "Pipeworks", "Sales pipeline deals.", ["CRM", "Sales"]),
    })


def main(html: str) -> str:
    """The page's main content (the navigation holds the per-request CSRF token)."""
    return html[html.index("<main"):html.index("</main>")]


def card_names(html: str) -> list[str]:
    return re.findall(r'<h2 id="connector-[^"]+">([^<]+)</h2>', html)


def test_requires_login(client, small_catalog):
    """An anonymous visitor is sent to the login page."""
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_heading_nav_and_search_box(admin_client, small_catalog):
    """The page has its heading, the Connectors nav item is current, the search box is labelled."""
    html = admin_client.get(URL).content.decode()
    assert "<h1>Application Connector Library</h1>" in html
    assert f'<a href="{URL}" aria-current="page">Connectors</a>' in html
    assert '<label for="id_q">Search connectors</label>' in html
    assert 'type="search" name="q"' in html
    assert card_names(html) == ["1st Connect", "Ledgerly", "Pipeworks"]


@pytest.mark.parametrize(("query", "expected"), [
    ("1st connect", ["1st Connect"]),        # name, case-insensitive
    ("1ST CONNECT", ["1st Connect"]),
    ("BOOKKEEPING", ["Ledgerly"]),           # description
    ("crm", ["1st Connect", "Pipeworks"]),   # category
    ("sales deals", ["Pipeworks"]),          # every word must match
    ("nothing-like-this", []),
])
def test_search_is_server_side_and_case_insensitive(admin_client, small_catalog, query,
                                                    expected):
    """The search matches name, description and categories, ignoring case."""
    html = admin_client.get(URL, {"q": query}).content.decode()
    assert card_names(html) == expected


@pytest.mark.parametrize(("params", "expected"), [
    ({"category": "Accounting"}, ["Ledgerly"]),
    ({"category": "CRM"}, ["1st Connect", "Pipeworks"]),
    ({"auth_type": "oauth1"}, ["1st Connect"]),
    ({"auth_type": "api_key", "category": "CRM"}, ["Pipeworks"]),
    ({"status": "configured"}, ["Ledgerly"]),
    ({"status": "setup_required"}, ["1st Connect", "Pipeworks"]),
])
def test_filters(admin_client, partner, small_catalog, params, expected):
    """Category, auth type and status filters narrow the list."""
    PartnerAuthSettings.objects.create(partner=partner, connector=Connector.objects.get(
        slug="ledgerly"), saved_at=timezone.now())
    html = admin_client.get(URL, params).content.decode()
    assert card_names(html) == expected


def test_category_filter_choices_come_from_categories(admin_client, small_catalog):
    """The category select lists every Category."""
    html = admin_client.get(URL).content.decode()
    for name in Category.objects.values_list("name", flat=True):
        assert f'<option value="{name}">{name}</option>' in html


def test_card_shows_icon_auth_type_categories_and_open_padlock(admin_client, small_catalog):
    """A card shows the monogram, the auth type, the categories and an open padlock link."""
    html = admin_client.get(URL, {"q": "pipeworks"}).content.decode()
    settings_url = reverse("connectors:settings", args=["pipeworks"])
    assert '<svg class="connector-icon"' in html and ">Pi</text>" in html
    assert "API key · CRM, Sales" in html
    assert (f'<a class="padlock open" href="{settings_url}" aria-label="Setup Required" '
            f'title="Setup Required"') in html
    assert 'aria-label="Configured"' not in html


def test_padlock_closes_once_settings_are_saved(admin_client, partner, small_catalog):
    """After the partner saved its settings the padlock reads "Configured"."""
    connector = Connector.objects.get(slug="1st-connect")
    PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                       values={"consumer_key": "k"}, saved_at=timezone.now())
    html = admin_client.get(URL, {"q": "1st"}).content.decode()
    assert 'class="padlock closed"' in html and 'aria-label="Configured"' in html
    assert 'aria-label="Setup Required"' not in html


def test_unsaved_settings_row_keeps_padlock_open(admin_client, partner, small_catalog):
    """A settings row that was never saved (no saved_at) does not close the padlock."""
    PartnerAuthSettings.objects.create(partner=partner,
                                       connector=Connector.objects.get(slug="ledgerly"))
    html = admin_client.get(URL, {"q": "ledgerly"}).content.decode()
    assert 'aria-label="Setup Required"' in html


def test_other_partners_settings_do_not_close_my_padlock(admin_client, other_partner,
                                                        small_catalog):
    """Padlocks are per partner: another partner's saved settings change nothing here."""
    PartnerAuthSettings.objects.create(partner=other_partner, saved_at=timezone.now(),
                                       connector=Connector.objects.get(slug="ledgerly"))
    html = admin_client.get(URL, {"q": "ledgerly"}).content.decode()
    assert 'aria-label="Setup Required"' in html and 'aria-label="Configured"' not in html


def test_retired_connectors_are_hidden(admin_client, small_catalog):
    """A connector whose catalogue file is gone is not listed."""
    Connector.objects.filter(slug="ledgerly").update(retired_at=timezone.now())
    html = admin_client.get(URL).content.decode()
    assert card_names(html) == ["1st Connect", "Pipeworks"]


def test_viewer_sees_the_library(viewer_client, small_catalog):
    """Viewers may read the library."""
    assert card_names(viewer_client.get(URL).content.decode()) == [
        "1st Connect", "Ledgerly", "Pipeworks"]


def bulk_connectors(count: int, prefix: str = "Bulk") -> list[Connector]:
    spec = {"name": "x", "description": "x", "auth": {"type": "none"}, "fields": []}
    connectors = Connector.objects.bulk_create(
        Connector(slug=f"bulk-{i:04d}", name=f"{prefix} {i:04d}", description="Bulk connector.",
                  category_names=["Bulk"], auth_type="none", spec_data=spec,
                  search_text=f"{prefix.lower()} {i:04d} bulk connector. bulk")
        for i in range(count)
    )
    Catalogue.changed()  # as a sync would
    return connectors


def test_pagination_keeps_query_parameters(admin_client, db):
    """48 cards a page; the next-page link keeps the search and filters."""
    bulk_connectors(60)
    response = admin_client.get(URL, {"q": "bulk", "auth_type": "none"})
    html = response.content.decode()
    assert len(card_names(html)) == 48
    assert "Page 1 of 2" in html
    assert 'href="?q=bulk&amp;auth_type=none&amp;page=2"' in html
    page2 = admin_client.get(URL, {"q": "bulk", "auth_type": "none", "page": "2"})
    assert len(card_names(page2.content.decode())) == 12


@pytest.mark.parametrize("params", [
    {"page": "999"}, {"page": "-1"}, {"page": "abc"}, {"category": "No such"},
    {"auth_type": "<script>"}, {"status": "x"}, {"q": "x" * 5000}, {"q": "nul\x00byte"},
])
def test_hostile_parameters_never_fail(admin_client, small_catalog, params):
    """Out-of-range pages, unknown choices and over-long text give a page, not an error."""
    response = admin_client.get(URL, params)
    assert response.status_code == 200
    assert b"<script>" not in response.content


def test_constant_queries_and_no_decryption(admin_client, partner, monkeypatch,
                                            django_assert_max_num_queries):
    """2,000 connectors: at most 4 queries for the whole page -- the session, the user with
    membership and partner, the catalogue's version and categories, the page with its
    count -- (5 past the last page of a filter), 3 once the listing is cached, and nothing
    decrypted."""
    Category.objects.create(name="Bulk")
    connectors = bulk_connectors(2000)
    for connector in connectors[:3]:
        PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                           secret_values={"client_secret": "fake-secret-1"},
                                           saved_at=timezone.now())

    def no_decryption():
        raise AssertionError("the library page must not decrypt anything")

    monkeypatch.setattr(crypto, "current_fernet", no_decryption)
    # The worker banner's answer, which each process keeps a minute (core/health.py).
    cache.set(WORKER_MISSING_KEY, False)
    with django_assert_max_num_queries(4):
        response = admin_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "2000 connectors" in html
    assert len(card_names(html)) == 48
    assert html.count('aria-label="Configured"') == 3
    with django_assert_max_num_queries(3):
        assert main(admin_client.get(URL).content.decode()) == main(html)
    with django_assert_max_num_queries(5):
        filtered = admin_client.get(URL, {"q": "bulk 19", "category": "Bulk",
                                          "status": "setup_required", "page": "2"})
    assert filtered.status_code == 200
    assert "Select a valid choice" not in filtered.content.decode()


def test_sync_shows_a_changed_name_and_description_at_once(admin_client, tmp_path, db):
    """Cards and listings are cached, yet a sync that renames or redescribes a connector
    shows the new text on the library and the guides index."""
    write_catalog(tmp_path, {
        "ledgerly": (API_KEY, "Ledgerly", "Invoices and bookkeeping.", ["Accounting"])})
    assert "Invoices and bookkeeping." in admin_client.get(URL).content.decode()
    assert "Ledgerly Authentication Setup Guide" in admin_client.get(
        reverse("connectors:guides")).content.decode()
    write_catalog(tmp_path, {
        "ledgerly": (API_KEY, "Ledgerly Books", "Ledgers and payroll.", ["Accounting"])})
    html = admin_client.get(URL).content.decode()
    assert card_names(html) == ["Ledgerly Books"]
    assert "Ledgers and payroll." in html and "Invoices and bookkeeping." not in html
    guides = admin_client.get(reverse("connectors:guides")).content.decode()
    assert "Ledgerly Books Authentication Setup Guide" in guides


def recorded_renders(monkeypatch, record) -> list[str]:
    """What `record(name, context)` makes of each template connectors/cards.py renders from
    now on (None: not recorded)."""
    rendered: list[str] = []
    render = cards.render_to_string

    def recording(name, context, **kwargs):
        if (entry := record(name, context)) is not None:
            rendered.append(entry)
        return render(name, context, **kwargs)

    monkeypatch.setattr(cards, "render_to_string", recording)
    return rendered


def cards_rendered(monkeypatch) -> list[str]:
    """The slugs of the cards rendered from now on."""
    return recorded_renders(monkeypatch, lambda name, context: (
        context["connector"].slug if "connector" in context else None))


def listings_rendered(monkeypatch) -> list[str]:
    """The listing templates rendered from now on (cards are not counted)."""
    return recorded_renders(monkeypatch, lambda name, context: (
        None if "connector" in context else name))


def test_cards_are_rendered_once_then_served_from_the_cache(admin_client, alice, partner,
                                                            small_catalog, monkeypatch):
    """The second visit renders no card; saving settings re-renders only that card."""
    caches[cards.CACHE_ALIAS].clear()
    rendered = cards_rendered(monkeypatch)
    admin_client.get(URL)
    assert sorted(rendered) == ["1st-connect", "ledgerly", "pipeworks"]
    rendered.clear()
    admin_client.get(URL, {"q": "e"})  # another listing, of the same cards
    assert rendered == []
    save_auth_settings(partner=partner, connector=Connector.objects.get(slug="ledgerly"),
                       user=alice, cleaned={})
    html = admin_client.get(URL).content.decode()
    assert rendered == ["ledgerly"]
    assert html.count('aria-label="Configured"') == 1


def test_the_logo_bytes_are_not_loaded_for_a_page(admin_client, partner):
    """partner_view defers the logo: a console page never reads the image column."""
    partner.logo, partner.logo_content_type = b"\x89PNG fake", "image/png"
    partner.save()
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(URL).status_code == 200
    assert not any('"accounts_partner"."logo"' in q["sql"] for q in queries.captured_queries)


# Cached listings: below its heading the page is rendered once per process for its query
# string and versions; every change that shows must replace a version.

def test_the_listing_is_rendered_once_per_query_string(admin_client, small_catalog,
                                                       monkeypatch):
    """The same query serves the same HTML without rendering; another query renders its own."""
    rendered = listings_rendered(monkeypatch)
    first = admin_client.get(URL, {"q": "crm"}).content.decode()
    again = admin_client.get(URL, {"q": "crm"}).content.decode()
    assert rendered == ["connectors/_library_listing.html"]
    assert main(again) == main(first) and card_names(first) == ["1st Connect", "Pipeworks"]
    assert card_names(admin_client.get(URL, {"q": "invoices"}).content.decode()) == ["Ledgerly"]
    assert len(rendered) == 2


def test_saving_settings_closes_the_padlock_of_a_cached_listing(admin_client, small_catalog):
    """Save Changes on the settings page, then the library: the padlock reads Configured at
    once, though the open padlock was cached."""
    assert 'aria-label="Setup Required"' in admin_client.get(URL, {"q": "1st"}).content.decode()
    response = admin_client.post(reverse("connectors:settings", args=["1st-connect"]),
                                 {"consumer_key": "fake-key", "consumer_secret": "fake-secret"})
    assert response.status_code == 302
    html = admin_client.get(URL, {"q": "1st"}).content.decode()
    assert 'aria-label="Configured"' in html and 'aria-label="Setup Required"' not in html
    configured = admin_client.get(URL, {"status": "configured"}).content.decode()
    assert card_names(configured) == ["1st Connect"]


def test_a_cached_listing_is_never_another_partners(admin_client, other_client, alice,
                                                    partner, small_catalog):
    """Two partners, the same query: each sees its own padlocks, whoever asked first."""
    save_auth_settings(partner=partner, connector=Connector.objects.get(slug="ledgerly"),
                       user=alice, cleaned={})
    mine = admin_client.get(URL, {"q": "ledgerly"}).content.decode()
    theirs = other_client.get(URL, {"q": "ledgerly"}).content.decode()
    assert 'aria-label="Configured"' in mine
    assert 'aria-label="Setup Required"' in theirs and 'aria-label="Configured"' not in theirs


def test_members_share_the_listing_but_not_the_page(admin_client, viewer_client,
                                                    small_catalog, monkeypatch):
    """An admin and a viewer of one partner: one listing rendered, yet each page names
    its own person and carries its own CSRF token."""
    rendered = listings_rendered(monkeypatch)
    admin_page = admin_client.get(URL).content.decode()
    viewer_page = viewer_client.get(URL).content.decode()
    assert rendered == ["connectors/_library_listing.html"]
    assert "alice@acme.test" in admin_page and "alice@acme.test" not in viewer_page
    assert "victor@acme.test" in viewer_page and "victor@acme.test" not in admin_page
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    assert token.findall(admin_page) and set(token.findall(admin_page)).isdisjoint(
        token.findall(viewer_page))


def test_a_sync_that_changes_nothing_keeps_the_listings(admin_client, tmp_path, db,
                                                        monkeypatch):
    """Re-running an unchanged sync (as every deploy does) leaves the version, so the
    cached listings stay; a sync that adds a category offers it in the filter at once."""
    write_catalog(tmp_path, {"ledgerly": (API_KEY, "Ledgerly", "Invoices.", ["Accounting"])})
    version = Catalogue.current().version
    rendered = listings_rendered(monkeypatch)
    admin_client.get(URL)
    sync_catalog(tmp_path)
    assert Catalogue.current().version == version
    admin_client.get(URL)
    assert len(rendered) == 1
    write_catalog(tmp_path, {"ledgerly": (API_KEY, "Ledgerly", "Invoices.", ["Payroll"])})
    assert Catalogue.current().version != version
    html = admin_client.get(URL, {"category": "Payroll"}).content.decode()
    assert '<option value="Payroll" selected>Payroll</option>' in html
    assert card_names(html) == ["Ledgerly"]


def test_the_catalogue_row_is_made_again_when_missing(admin_client, small_catalog):
    """A database whose catalogue row went (a flush) gets it back, with its categories."""
    Catalogue.objects.all().delete()
    html = admin_client.get(URL).content.decode()
    assert card_names(html) == ["1st Connect", "Ledgerly", "Pipeworks"]
    assert Catalogue.current().category_names == ["Accounting", "CRM", "Sales"]


def test_connector_without_partner_fields_is_ready(admin_client, tmp_path):
    """No partner-level field: no padlock but "Ready", in the Ready filter, offerable."""
    write_catalog(tmp_path, {
        "plainbasic": (ACCOUNT_ONLY, "Plainbasic", "Basic auth only.", ["CRM"]),
        "pipeworks": (API_KEY, "Pipeworks", "Sales pipeline deals.", ["CRM", "Sales"]),
    })
    html = admin_client.get(URL).content.decode()
    settings_url = reverse("connectors:settings", args=["plainbasic"])
    assert f'<a class="status status-configured" href="{settings_url}"' in html
    assert html.count('aria-label="Setup Required"') == 1  # Pipeworks only
    assert card_names(admin_client.get(URL, {"status": "configured"}).content.decode()) == [
        "Plainbasic"]
    assert card_names(admin_client.get(URL, {"status": "setup_required"}).content.decode()) == [
        "Pipeworks"]
    assert '<option value="configured">Ready</option>' in html
    settings = admin_client.get(settings_url).content.decode()
    assert ">Ready</span>" in settings and "Setup Required" not in settings


def test_ready_connector_can_be_offered_in_install_links(partner, tmp_path):
    """A connector with nothing to save is among those an install link may offer."""
    write_catalog(tmp_path, {
        "plainbasic": (ACCOUNT_ONLY, "Plainbasic", "Basic auth only.", ["CRM"]),
        "pipeworks": (API_KEY, "Pipeworks", "Sales pipeline deals.", ["CRM", "Sales"]),
    })
    offered = [c.slug for c in links.configured_connectors(partner)]
    assert offered == ["plainbasic"]


def test_placeholder_connectors_are_badged_examples(admin_client, catalog):
    """1st Connect's endpoints are on .example: an "Example" badge in the library and a line
    on its guide saying they are placeholders; a real provider carries no badge."""
    html = admin_client.get(URL, {"q": "1st connect"}).content.decode()
    assert '<span class="status status-example">Example</span>' in html
    guide = admin_client.get(reverse("connectors:guide", args=["1st-connect"])).content.decode()
    assert "its endpoints are placeholders on the reserved <code>.example</code> domain" in guide
    harvest = admin_client.get(URL, {"q": "harvest"}).content.decode()
    assert "Harvest" in harvest and "status-example" not in harvest
    assert list(Connector.objects.filter(is_example=True).values_list("slug", flat=True)) == [
        "1st-connect"]
