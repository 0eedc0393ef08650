"""The console walk-through of issue 2, in headless Chromium against the live server:
log in, find 1st Connect in the Application Connector Library, save its Authentication
Settings, see the padlock close, open the Authentication Setup Guide."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from accounts.models import Partner
from connectors.models import PartnerAuthSettings
from connectors.sync import sync_catalog
from tests.factories import raw_value

EMAIL = "admin@walkthrough.test"
PASSWORD = "fake-walkthrough-password-4821"
CONSUMER_KEY = "fake-consumer-key-abc"
CONSUMER_SECRET = "fake-consumer-secret-123"


def search_library(page, text: str):
    """Search the library and return the card of the connector named `text`."""
    page.get_by_role("searchbox", name="Search connectors").fill(text)
    page.get_by_role("button", name="Search").click()
    heading = page.get_by_role("heading", name=text, exact=True)
    return page.get_by_role("listitem").filter(has=heading)


@pytest.mark.browser
def test_partner_admin_configures_1st_connect(page, live_server, transactional_db, settings,
                                              monkeypatch):
    """The walk-through works in a browser; the secret is encrypted and on no page."""
    from playwright.sync_api import expect

    settings.PUBLIC_URL = live_server.url
    sync_catalog()
    monkeypatch.setenv("HATCHWAY_ADMIN_PASSWORD", PASSWORD)
    call_command("createpartner", "Walkthrough Inc", "--email", EMAIL, "--noinput")
    visited: list[str] = []

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connectors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Application Connector Library")
    card = search_library(page, "1st Connect")
    expect(card).to_have_count(1)
    visited.append(page.url)
    card.get_by_role("link", name="Setup Required").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "1st Connect Authentication Settings")
    expect(page.get_by_label("Callback URL")).to_have_value(
        f"{live_server.url}/connectors/1st-connect/callback")
    page.get_by_label("Consumer Key").fill(CONSUMER_KEY)
    page.get_by_label("Consumer Secret").fill(CONSUMER_SECRET)
    page.get_by_role("button", name="Save Changes").click()

    expect(page.get_by_role("status").filter(has_text="Authentication Settings saved.")
           ).to_be_visible()
    expect(page.get_by_label("Consumer Key")).to_have_value(CONSUMER_KEY)
    expect(page.get_by_label("Consumer Secret")).to_have_value("")
    expect(page.get_by_text("Saved", exact=True)).to_be_visible()
    visited.append(page.url)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Connectors").click()
    card = search_library(page, "1st Connect")
    expect(card.get_by_role("link", name="Configured")).to_be_visible()
    expect(card.get_by_role("link", name="Setup Required")).to_have_count(0)
    visited.append(page.url)

    row = PartnerAuthSettings.objects.get(partner=Partner.objects.get(slug="walkthrough-inc"),
                                          connector__slug="1st-connect")
    stored = raw_value(row, "secret_values")
    assert stored and CONSUMER_SECRET.encode() not in stored
    assert row.secret_values == {"consumer_secret": CONSUMER_SECRET}
    assert row.values == {"consumer_key": CONSUMER_KEY}

    card.get_by_role("link", name="Configured").click()
    page.get_by_role("link", name="Authentication Setup Guide").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "1st Connect Authentication Setup Guide")
    expect(page.get_by_role("heading", name="Partner level authentication")).to_be_visible()
    visited.append(page.url)

    assert re.search(r"/connectors/1st-connect/guide/$", page.url)
    for url in visited:
        page.goto(url)
        assert CONSUMER_SECRET not in page.content(), url
