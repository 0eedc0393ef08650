"""Issue 9, popup mode, in headless Chromium: a partner's page on another origin opens an
install link with static/hatchway-popup.js, the customer connects in the popup, and the
partner's page receives the outcome by postMessage while the popup closes itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.models import Account, Partner
from connectors.models import Connector
from connectors.sync import sync_catalog
from installs.models import Install
from tests.factories import account, configure_sandbox, make_link

pytestmark = pytest.mark.browser

PARTNER_PAGE = """<!doctype html>
<html><head><title>Acme integrations</title>
<script src="{live}/static/hatchway-popup.js"></script></head>
<body><button id="connect">Connect an app</button><output id="received"></output>
<script>
document.getElementById("connect").addEventListener("click", () => {{
  Hatchway.openInstall("{link}", {{
    onMessage: (m) => {{ document.getElementById("received").textContent = JSON.stringify(m); }},
  }});
}});
</script></body></html>
"""


def open_as_popup(page, live_server, settings, partner_site, *, slug: str,
                  allowed: list[str] | None) -> tuple[str, Any, Account]:
    """A partner page on another origin opens an install link for `slug` as a popup;
    `allowed` is the partner's allowed return origins (None: the page's own origin)."""
    settings.PUBLIC_URL = live_server.url
    origin, content = partner_site
    sync_catalog()
    partner = Partner.objects.create(name="Acme Cloud", slug="acme",
                                     allowed_return_origins=allowed or [origin])
    configure_sandbox(partner, base=live_server.url)
    customer = account(partner, "Initech", "cust-42")
    _, token = make_link(customer, [Connector.objects.get(slug=slug)])
    content["html"] = PARTNER_PAGE.format(live=live_server.url,
                                          link=f"{live_server.url}/install/{token}/")
    page.goto(f"{origin}/integrations")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Connect an app").click()
    return origin, opened.value, customer


def test_partner_page_receives_the_outcome(page, live_server, transactional_db, settings,
                                           sandbox_transport, partner_site):
    """Open the link as a popup → connect with an API key → install.completed, popup closed."""
    from playwright.sync_api import expect

    origin, popup, customer = open_as_popup(page, live_server, settings, partner_site,
                                            slug="sandbox-api-key", allowed=None)
    refusals: list[str] = []
    popup.on("console", lambda m: refusals.append(m.text) if "Content Security" in m.text
             else None)
    popup.get_by_role("button", name="Connect").click()
    popup.get_by_label("API key").fill("fake-api-key-123")
    # A message from any origin but the link's is ignored by the helper.
    page.evaluate("window.postMessage({event: 'install.completed', connector: 'forged'}, '*')")
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Connect").click()

    expect(page.locator("#received")).not_to_be_empty()
    install = Install.objects.get(account=customer)
    assert install.status == Install.Status.AUTHENTICATED
    assert json.loads(page.locator("#received").text_content()) == {
        "event": "install.completed", "connector": "sandbox-api-key", "install": install.pk,
        "account": "cust-42",
    }
    assert refusals == []


def test_origin_off_the_allowlist_receives_nothing(page, live_server, transactional_db,
                                                   settings, sandbox_transport, partner_site):
    """The same page on an origin the partner did not allow: the popup stays, no message."""
    from playwright.sync_api import expect

    origin, popup, customer = open_as_popup(page, live_server, settings, partner_site,
                                            slug="sandbox-api-key",
                                            allowed=["https://app.acme.test"])
    popup.get_by_role("button", name="Connect").click()
    popup.get_by_label("API key").fill("fake-api-key-123")
    popup.get_by_role("button", name="Connect").click()
    expect(popup.get_by_role("heading", level=1)).to_have_text("Connected")
    assert not popup.is_closed()
    assert origin not in popup.content()
    page.wait_for_timeout(500)
    assert page.locator("#received").text_content() == ""


def test_oauth_sign_in_in_the_popup_reaches_the_partner(page, live_server, transactional_db,
                                                         settings, sandbox_transport,
                                                         partner_site):
    """OAuth 2.0 through the provider's consent page keeps the opener: install.completed."""
    from playwright.sync_api import expect

    origin, popup, customer = open_as_popup(page, live_server, settings, partner_site,
                                            slug="sandbox-oauth2", allowed=None)
    popup.get_by_role("button", name="Connect").click()
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Allow").click()

    expect(page.locator("#received")).not_to_be_empty()
    install = Install.objects.get(account=customer)
    assert install.status == Install.Status.AUTHENTICATED
    assert json.loads(page.locator("#received").text_content())["event"] == "install.completed"
