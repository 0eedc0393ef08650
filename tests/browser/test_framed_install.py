"""Issue 12 in headless Chromium: a partner's page on another site frames the install
link (an allowlisted embedding origin) and the customer completes an install inside the
frame -- possible only because the customer pages' cookie is SameSite=None; Secure (the
console's Lax cookie is never sent to a cross-site frame)."""

from __future__ import annotations

import pytest

from accounts.models import Partner
from connectors.sync import sync_catalog
from installs.models import Install
from links import services as links
from tests.factories import account, configure_sandbox

FRAMING_PAGE = ('<!doctype html><title>Acme app</title><h1>Acme app</h1>'
                '<iframe src="{link}" width="900" height="900"></iframe>')


@pytest.mark.browser
def test_customer_connects_inside_a_cross_site_iframe(page, live_server, transactional_db,
                                                      settings, sandbox_transport, partner_site):
    """Partner page on 127.0.0.1 frames the link on localhost: Connect → API key → Connected."""
    from playwright.sync_api import expect

    settings.PUBLIC_URL = live_server.url
    embedder, content = partner_site
    sync_catalog()
    partner = Partner.objects.create(name="Acme Cloud", slug="acme", display_name="Acme Apps",
                                     allowed_frame_origins=[embedder])
    configure_sandbox(partner, base=live_server.url)
    customer = account(partner, "Initech", "cust-42")
    _link, token = links.create_link(account=customer, connectors=list(
        links.configured_connectors(partner)))
    content["html"] = FRAMING_PAGE.format(link=links.link_url(token))

    page.goto(f"{embedder}/embed")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connect your applications")
    row = frame.get_by_role("listitem").filter(
        has=frame.get_by_role("heading", name="Sandbox (API key)", exact=True))
    row.get_by_role("button", name="Connect").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connect Sandbox (API key)")
    frame.get_by_label("API key").fill("fake-api-key-123")
    frame.get_by_role("button", name="Connect").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connected")

    install = Install.objects.get(account=customer)
    assert install.status == Install.Status.AUTHENTICATED
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["install_session"]["sameSite"] == "None"
    assert cookies["install_session"]["secure"] is True
    assert "sessionid" not in cookies
