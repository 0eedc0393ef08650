"""In Chromium: a customer whose sign-in was cancelled completes it with Try again, then
connects a second app from the success page and is taken back."""

from __future__ import annotations

import pytest

from accounts.models import Partner
from connectors.models import Connector
from connectors.sync import sync_catalog
from installs.models import Install
from tests.factories import account, configure_sandbox, make_link


@pytest.mark.browser
def test_try_again_then_connect_another_app(page, live_server, transactional_db, settings,
                                            sandbox_transport):
    from playwright.sync_api import expect

    settings.PUBLIC_URL = live_server.url
    sync_catalog()
    partner = Partner.objects.create(name="Acme Cloud", slug="acme", display_name="Acme Apps",
                                     allowed_return_origins=[live_server.url])
    configure_sandbox(partner, base=live_server.url)
    customer = account(partner, "Initech", "cust-42")
    offered = list(Connector.objects.filter(slug__in=["sandbox-oauth2", "sandbox-api-key"]))
    return_url = f"{live_server.url}/login/"
    _, token = make_link(customer, offered, return_url=return_url)

    page.goto(f"{live_server.url}/install/{token}/")
    row = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Sandbox (OAuth 2.0)", exact=True))
    row.get_by_role("button", name="Connect").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connection cancelled")

    page.get_by_role("button", name="Try again").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connected")
    expect(page.get_by_role("heading", name="Connect another app")).to_be_visible()
    assert Install.objects.get().status == Install.Status.AUTHENTICATED

    another = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Sandbox (API key)", exact=True))
    another.get_by_role("button", name="Connect").click()
    page.get_by_label("API key").fill("fake-api-key-123")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connected")
    # Nothing left to connect: taken back (Continue does it at once).
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(f"{return_url}?status=connected&connector=sandbox-api-key")
    assert Install.objects.filter(status=Install.Status.AUTHENTICATED).count() == 2
