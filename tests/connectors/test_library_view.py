"""The Application Connector Library: search, filters, padlocks, pagination, query count."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connectors import cards
from connectors.models import Category, Connector, PartnerAuthSettings
from connectors.sync import sync_catalog
from core import fields as crypto

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
key = "api_key"
label = "API key"
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
    return Connector.objects.bulk_create(
        Connector(slug=f"bulk-{i:04d}", name=f"{prefix} {i:04d}", description="Bulk connector.",
                  category_names=["Bulk"], auth_type="none", spec_data=spec,
                  search_text=f"{prefix.lower()} {i:04d} bulk connector. bulk")
        for i in range(count)
    )


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
    membership and partner, the categories, the page with its count -- (5 past the last
    page of a filter), and nothing decrypted."""
    connectors = bulk_connectors(2000)
    Category.objects.create(name="Bulk")
    for connector in connectors[:3]:
        PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                           secret_values={"client_secret": "fake-secret-1"},
                                           saved_at=timezone.now())

    def no_decryption():
        raise AssertionError("the library page must not decrypt anything")

    monkeypatch.setattr(crypto, "current_fernet", no_decryption)
    with django_assert_max_num_queries(4):
        response = admin_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "2000 connectors" in html
    assert len(card_names(html)) == 48
    assert html.count('aria-label="Configured"') == 3
    with django_assert_max_num_queries(5):
        filtered = admin_client.get(URL, {"q": "bulk 19", "category": "Bulk",
                                          "status": "setup_required", "page": "2"})
    assert filtered.status_code == 200


def test_sync_shows_a_changed_name_and_description_at_once(admin_client, tmp_path, db):
    """Cards are cached, yet a sync that renames or redescribes a connector shows the new text."""
    write_catalog(tmp_path, {
        "ledgerly": (API_KEY, "Ledgerly", "Invoices and bookkeeping.", ["Accounting"])})
    assert "Invoices and bookkeeping." in admin_client.get(URL).content.decode()
    write_catalog(tmp_path, {
        "ledgerly": (API_KEY, "Ledgerly Books", "Ledgers and payroll.", ["Accounting"])})
    html = admin_client.get(URL).content.decode()
    assert card_names(html) == ["Ledgerly Books"]
    assert "Ledgers and payroll." in html and "Invoices and bookkeeping." not in html
    guides = admin_client.get(reverse("connectors:guides")).content.decode()
    assert "Ledgerly Books Authentication Setup Guide" in guides


def test_cards_are_rendered_once_then_served_from_the_cache(admin_client, partner,
                                                            small_catalog, monkeypatch):
    """The second visit renders no card; saving settings re-renders only that card."""
    caches[cards.CACHE_ALIAS].clear()
    rendered = []
    render = cards.render_to_string
    monkeypatch.setattr(cards, "render_to_string",
                        lambda name, context: rendered.append(context["connector"].slug)
                        or render(name, context))
    admin_client.get(URL)
    assert sorted(rendered) == ["1st-connect", "ledgerly", "pipeworks"]
    rendered.clear()
    admin_client.get(URL)
    assert rendered == []
    PartnerAuthSettings.objects.create(partner=partner, saved_at=timezone.now(),
                                       connector=Connector.objects.get(slug="ledgerly"))
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
