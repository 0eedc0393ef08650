"""Account installs in headless Chromium against the live server and its sandbox: an
OAuth 2.0 and an OAuth 1.0a install through the consent page ("Allow") end Authenticated;
a denied consent ("Deny") shows "cancelled" and leaves the install unauthenticated.
Outbound HTTP goes over real HTTP to the live server (the default transport)."""

from __future__ import annotations

import pytest

from accounts.models import Account
from installs.models import Install
from tests.factories import PASSWORD, catalogue_connector, install_path, save_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def live(live_server, transactional_db, settings):
    settings.PUBLIC_URL = live_server.url
    return live_server


def log_in(page, live, user) -> None:
    page.goto(f"{live.url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def register(partner, live, slug: str, kind: str) -> None:
    """A sandbox client for this live server's callback URL, saved as the partner's settings."""
    from sandbox.services import register_client

    client_id, secret = register_client(name="Acme app", kind=kind,
                                        redirect_uri=f"{live.url}/connectors/{slug}/callback")
    keys = ("client_id", "client_secret") if kind == "oauth2" else ("consumer_key",
                                                                    "consumer_secret")
    save_settings(partner, catalogue_connector(slug), {keys[0]: client_id}, {keys[1]: secret})


def test_oauth2_install_through_the_console(page, live, partner, alice):
    """New account → Install connector → Authenticate → Allow → "Authenticated"."""
    from playwright.sync_api import expect

    register(partner, live, "sandbox-oauth2", "oauth2")
    log_in(page, live, alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Name").fill("Initech")
    page.get_by_label("External id").fill("cust-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Initech")

    page.get_by_role("link", name="Install connector").click()
    page.get_by_label("Search connectors").fill("Sandbox (OAuth 2.0)")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Sandbox (OAuth 2.0)").click()
    page.get_by_label("Name").fill("Initech sandbox")
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_text("Pending", exact=True)).to_be_visible()

    page.get_by_role("button", name="Authenticate").click()
    expect(page.get_by_role("heading", name="Authorise access")).to_be_visible()
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Initech sandbox")
    expect(page.get_by_text("Authenticated", exact=True)).to_be_visible()
    install = Install.objects.get(name="Initech sandbox")
    assert install.status == Install.Status.AUTHENTICATED
    html = page.content()
    assert install.credentials["access_token"] not in html
    assert install.credentials["refresh_token"] not in html

    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Connection works")).to_be_visible()


def test_oauth1_install(page, live, partner, alice):
    """OAuth 1.0a: Authenticate → Allow on the sandbox → "Authenticated"."""
    from playwright.sync_api import expect

    register(partner, live, "sandbox-oauth1", "oauth1")
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account,
                                     connector=catalogue_connector("sandbox-oauth1"))
    log_in(page, live, alice)
    page.goto(live.url + install_path(install))
    page.get_by_role("button", name="Authenticate").click()
    expect(page.get_by_role("heading", name="Authorise access")).to_be_visible()
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_text("Authenticated", exact=True)).to_be_visible()
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials["oauth_token_secret"] not in page.content()


def test_denied_consent_is_cancelled(page, live, partner, alice):
    """Deny on the consent page → "cancelled" shown, the install not Authenticated."""
    from playwright.sync_api import expect

    register(partner, live, "sandbox-oauth2", "oauth2")
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account,
                                     connector=catalogue_connector("sandbox-oauth2"))
    log_in(page, live, alice)
    page.goto(live.url + install_path(install))
    page.get_by_role("button", name="Authenticate").click()
    page.get_by_role("button", name="Deny").click()

    expect(page.get_by_role("heading", name="You cancelled")).to_be_visible()
    expect(page.get_by_text("cancelled", exact=False).first).to_be_visible()
    assert "Hatchway" not in page.content()
    install.refresh_from_db()
    assert install.status != Install.Status.AUTHENTICATED
    assert install.credentials == {}
    page.get_by_role("link", name="Back to").click()
    expect(page.get_by_text("Pending", exact=True)).to_be_visible()
