"""Issue 4 in headless Chromium: an admin creates an install link; a customer in a fresh
browser opens it, sees only the partner's branding, connects the sandbox OAuth 2.0
connector, lands on "Connected" and then on the return URL; the console shows the
install Authenticated."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Membership, Partner, User
from connectors.sync import sync_catalog
from installs.models import Install
from links.models import InstallLink
from tests.factories import account, configure_sandbox

EMAIL = "admin@acme-browser.test"
PASSWORD = "fake-browser-password-7731"


@pytest.mark.browser
def test_customer_connects_through_install_link(page, browser, live_server, transactional_db,
                                                settings, sandbox_transport):
    """Link created in the console → customer connects in partner branding → return URL."""
    from playwright.sync_api import expect

    settings.PUBLIC_URL = live_server.url
    sync_catalog()
    partner = Partner.objects.create(name="Acme Cloud", slug="acme", display_name="Acme Apps",
                                     primary_colour="#aa3300",
                                     allowed_return_origins=[live_server.url])
    user = User.objects.create_user(email=EMAIL, password=PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.ADMIN)
    configure_sandbox(partner, base=live_server.url)
    customer = account(partner, "Initech", "cust-42")
    return_url = f"{live_server.url}/login/"

    # The admin creates the link from the account page; it is shown once.
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + reverse("accounts:detail", args=[customer.pk]))
    page.get_by_role("link", name="Create install link").click()
    expect(page.get_by_role("checkbox", name="Sandbox (OAuth 2.0)")).to_be_checked()
    page.get_by_label("Return URL").fill(return_url)
    page.get_by_role("button", name="Create install link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Install link created")
    link_url = page.get_by_label("Install link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/install/[A-Za-z0-9_-]{{43}}/", link_url)

    # A customer, in a fresh browser context without any console session.
    context = browser.new_context()
    context.set_default_timeout(15_000)
    customer_page = context.new_page()
    customer_page.goto(link_url)
    expect(customer_page.get_by_role("heading", level=1)).to_have_text(
        "Connect your applications")
    expect(customer_page.get_by_text("Acme Apps", exact=True)).to_be_visible()
    assert "hatchway" not in customer_page.content().lower()
    assert "hatchway" not in customer_page.title().lower()
    row = customer_page.get_by_role("listitem").filter(
        has=customer_page.get_by_role("heading", name="Sandbox (OAuth 2.0)", exact=True))
    connect = row.get_by_role("button", name="Connect")
    # The partner's colour, applied through the theme stylesheet (CSP allows no inline style).
    assert connect.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(170, 51, 0)"
    connect.click()

    customer_page.get_by_role("button", name="Allow").click()
    expect(customer_page.get_by_role("heading", level=1)).to_have_text("Connected")
    assert "hatchway" not in customer_page.content().lower()
    # Other connectors of the link are offered first; Done (or Continue) goes back.
    customer_page.get_by_role("link", name=re.compile("^(Done|Continue)$")).click()
    customer_page.wait_for_url(f"{return_url}?status=connected&connector=sandbox-oauth2")
    context.close()

    install = Install.objects.get(account=customer)
    assert install.status == Install.Status.AUTHENTICATED
    assert InstallLink.objects.get().use_count == 1

    # Back in the console the install reads Authenticated and the link "used by 1 install".
    page.goto(live_server.url + reverse("accounts:detail", args=[customer.pk]))
    expect(page.get_by_role("link", name=install.display_name)).to_be_visible()
    expect(page.get_by_text("Authenticated", exact=True).first).to_be_visible()
    expect(page.get_by_text("Active · used by 1 install")).to_be_visible()
