"""In Chromium: a partner admin creates custom connectors in the console (Connectors ›
Custom connectors › New custom connector, by the form) and finds them in the Application
Connector Library with their Custom badge -- an API-key one Ready (it has no partner-level
field), an OAuth 2.0 one behind the Setup Required padlock -- and a viewer reads them
without any control to change them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Membership, Partner, User
from connectors.models import Connector
from connectors.sync import sync_catalog

ADMIN = "admin@custom.test"
VIEWER = "viewer@custom.test"
PASSWORD = "fake-custom-password-7421"
PUBLIC = "https://93.184.216.34"  # an IP literal: checked without DNS, never called here
API_KEY_FIELD = """[[fields]]
key = "api_key"
label = "API key"
level = "account"
secret = true
required = true
"""


def log_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/connectors/")


def fill_form(page, **values: str) -> None:
    """Fill the New custom connector page's Form (not Paste TOML's Slug) and create."""
    form = page.get_by_role("region", name="Form")
    for label, value in values.items():
        field = form.get_by_label(re.compile(rf"^{re.escape(label)}:?$"))
        if label == "Auth type":
            field.select_option(label=value)
        else:
            field.fill(value)
    form.get_by_role("button", name="Create").click()


@pytest.mark.browser
def test_admin_creates_custom_connectors_and_a_viewer_reads_them(browser, page, live_server,
                                                                 transactional_db, settings):
    from playwright.sync_api import expect

    settings.PUBLIC_URL = live_server.url
    settings.ALLOW_LOCAL_PROVIDERS = True  # the API-key one calls the sandbox on this server
    sync_catalog()
    partner = Partner.objects.create(name="Acme Cloud", slug="acme")
    for email, role in ((ADMIN, Membership.Role.ADMIN), (VIEWER, Membership.Role.VIEWER)):
        user = User.objects.create_user(email=email, password=PASSWORD)
        Membership.objects.create(user=user, partner=partner, role=role)
    url = live_server.url

    log_in(page, url, ADMIN)
    page.get_by_role("link", name="Custom connectors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Custom connectors")
    expect(page.get_by_text("No custom connectors yet.")).to_be_visible()
    page.get_by_role("link", name="New custom connector").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New custom connector")

    fill_form(page, **{"Name": "Acme Tickets", "Slug": "acme-tickets",
                       "Description": "Our ticket desk, by API key.", "Auth type": "API key",
                       "API key header": "X-API-Key", "Fields (TOML)": API_KEY_FIELD,
                       "API base URL": "{public_url}/sandbox/api",
                       "Verify request": "GET /me"})
    expect(page.get_by_text("Custom connector Acme Tickets created.")).to_be_visible()
    tickets = Connector.objects.get(slug="acme-tickets")
    assert tickets.owner == partner and tickets.auth_type == "api_key"

    page.goto(url + reverse("connectors:custom_new"))
    fill_form(page, **{"Name": "Acme CRM", "Slug": "acme-crm",
                       "Description": "Our CRM, by OAuth 2.0.", "Auth type": "OAuth 2.0",
                       "Authorize URL": f"{PUBLIC}/oauth/authorize",
                       "Token URL": f"{PUBLIC}/oauth/token", "Default scopes": "read"})
    expect(page.get_by_text("Custom connector Acme CRM created.")).to_be_visible()

    # A refusal names the field and saves nothing: a catalogue connector's slug.
    page.goto(url + reverse("connectors:custom_new"))
    fill_form(page, **{"Name": "Mine", "Slug": "github", "Description": "Taken.",
                       "Auth type": "API key", "API key header": "X-Key"})
    expect(page.get_by_role("region", name="Form").get_by_text(
        "is a catalogue connector's: choose another", exact=False)).to_be_visible()
    assert Connector.objects.filter(owner=partner).count() == 2

    page.goto(f"{url}{reverse('connectors:library')}?source=custom")
    cards = page.locator("li.connector-card")
    expect(cards).to_have_count(2)
    tickets_card = cards.filter(has=page.get_by_role("heading", name="Acme Tickets"))
    expect(tickets_card.get_by_text("Custom", exact=True)).to_be_visible()
    expect(tickets_card.get_by_role("link", name="Ready")).to_be_visible()
    crm_card = cards.filter(has=page.get_by_role("heading", name="Acme CRM"))
    expect(crm_card.get_by_text("Custom", exact=True)).to_be_visible()
    crm_card.get_by_role("link", name="Setup Required").click()
    expect(page).to_have_url(url + reverse("connectors:settings", args=["acme-crm"]))

    viewer = browser.new_context()
    viewer_page = viewer.new_page()
    try:
        log_in(viewer_page, url, VIEWER)
        viewer_page.goto(url + reverse("connectors:custom_list"))
        expect(viewer_page.get_by_role("link", name="Acme Tickets")).to_be_visible()
        expect(viewer_page.get_by_role("link", name="New custom connector")).to_have_count(0)
        viewer_page.get_by_role("link", name="Acme CRM").click()
        expect(viewer_page.get_by_role("heading", level=1)).to_contain_text("Acme CRM")
        expect(viewer_page.get_by_text('token_url = "https://93.184.216.34/oauth/token"')
               ).to_be_visible()  # the definition, read-only
        for control in ("Save Changes", "Retire"):
            expect(viewer_page.get_by_role("button", name=control)).to_have_count(0)
        expect(viewer_page.get_by_role("link", name="Delete")).to_have_count(0)
        response = viewer_page.goto(url + reverse("connectors:custom_new"))
        assert response is not None and response.status == 403
    finally:
        viewer.close()
    assert Connector.objects.filter(owner=partner).count() == 2
