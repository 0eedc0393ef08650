"""Every main console and customer page at 1280 px and at 390 px (a phone): nothing
scrolls sideways, and axe-core finds no serious or critical violation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Partner, User
from api import services as api_keys
from connectors import custom
from connectors.models import Connector
from connectors.sync import sync_catalog
from installs.models import Install
from tests.factories import account, configure_sandbox, make_link
from webhooks import services as webhooks

EMAIL = "admin@a11y.test"
PASSWORD = "fake-a11y-password-5512"
WIDTHS = (1280, 390)
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ` +
              v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
}"""


# What sticks out: the innermost elements whose right edge passes the viewport.
WIDEST = """(width) => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > width && ![...e.children].some(
    c => c.getBoundingClientRect().right > width))
  .slice(0, 3).map(e => `${e.tagName.toLowerCase()}.${e.className}`).join(", ")"""


def seed(live_url: str) -> dict[str, str]:
    """A partner with a bit of everything; the console and customer paths to visit."""
    sync_catalog()
    partner = Partner.objects.create(name="Acme Cloud", slug="acme", display_name="Acme Apps",
                                     primary_colour="#aa3300", support_email="help@acme.test",
                                     allowed_return_origins=[live_url])
    user = User.objects.create_user(email=EMAIL, password=PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.ADMIN)
    configure_sandbox(partner, base=live_url)
    customer = account(partner, "Initech Corporation International", "cust-42")
    install = Install.objects.create(
        account=customer, connector=Connector.objects.get(slug="sandbox-api-key"),
        name="Support desk", status=Install.Status.AUTHENTICATED,
        authenticated_at=timezone.now(), credentials={"api_key": "fake-a11y-key"})
    endpoint, _ = webhooks.create_endpoint(partner=partner, actor=user,
                                           url="https://hooks.acme.test/hatchway/events")
    webhooks.send_test(endpoint=endpoint)
    api_keys.create_key(partner=partner, actor=user, name="Billing backend",
                        scopes=["manage"])
    custom.create(partner=partner, actor=user, data={
        "slug": "acme-crm", "name": "Acme CRM", "description": "Our own CRM.",
        "auth": {"type": "oauth2", "authorize_url": "https://93.184.216.34/oauth/authorize",
                 "token_url": "https://93.184.216.34/oauth/token", "scopes": ["read"]}})
    offered = list(Connector.objects.filter(slug__in=["sandbox-oauth2", "sandbox-api-key"]))
    _, token = make_link(customer, offered, return_url=live_url + "/login/")
    a, i = customer.pk, install.pk
    console = [
        reverse("connectors:library"), reverse("connectors:settings", args=["sandbox-oauth2"]),
        reverse("connectors:guides"), reverse("connectors:guide", args=["1st-connect"]),
        reverse("accounts:list"), reverse("accounts:detail", args=[a]),
        reverse("accounts:create"), reverse("accounts:edit", args=[a]),
        reverse("accounts:install_pick", args=[a]),
        reverse("accounts:install_new", args=[a, "sandbox-basic"]),
        reverse("accounts:install_new", args=[a, "sandbox-oauth2"]),  # Scopes under Advanced
        reverse("accounts:install", args=[a, i]),
        reverse("accounts:install_deauthenticate", args=[a, i]),
        reverse("accounts:needs_attention"), reverse("webhooks:list"),
        reverse("webhooks:detail", args=[endpoint.pk]), reverse("webhooks:create"),
        reverse("api_keys:list"), reverse("links:branding"),
        reverse("links:link_create", args=[a]),
        reverse("teams:members"), reverse("teams:security"), reverse("password_reset"),
        reverse("sso:settings"), reverse("sso:start"),
        reverse("connectors:custom_list"), reverse("connectors:custom_new"),
        reverse("connectors:custom_new") + "?start-connector=github",  # Paste TOML filled
        reverse("connectors:custom_detail", args=["acme-crm"]),
        reverse("connectors:custom_delete", args=["acme-crm"]),
        reverse("connectors:settings", args=["acme-crm"]),
        reverse("connectors:library") + "?source=custom",
    ]
    return {"console": console, "token": token}


def check(page, path: str, width: int, axe_source: str, failures: list[str]) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.wait_for_load_state()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate(WIDEST, width)
        failures.append(f"{path} at {width}px scrolls sideways: {scroll_width}px wide ({wide})")
    page.evaluate(axe_source)
    for violation in page.evaluate(AXE_RUN):
        failures.append(f"{path} at {width}px: {violation}")


def visit_each(page, width: int, axe_source: str, failures: list[str],
               steps: list[tuple[str, Callable[[], object]]]) -> None:
    for label, go in steps:
        go()
        check(page, label, width, axe_source, failures)


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_and_pass_axe(browser, live_server, transactional_db, settings,
                                sandbox_transport, axe_source, width):
    settings.PUBLIC_URL = live_server.url
    paths = seed(live_server.url)
    failures: list[str] = []
    # axe is injected as an inline script, which the pages' CSP (rightly) forbids.
    context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    url = live_server.url

    page.goto(f"{url}/login/")
    check(page, "/login/", width, axe_source, failures)
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/connectors/")
    for path in paths["console"]:
        page.goto(url + path)
        check(page, path, width, axe_source, failures)
    if width < 640:  # the navigation is behind "Menu" on a phone, and opens
        page.goto(url + reverse("accounts:list"))
        nav = page.get_by_role("navigation", name="Main")
        assert not nav.get_by_role("link", name="Webhooks").is_visible()
        page.get_by_text("Menu", exact=True).click()
        assert nav.get_by_role("link", name="Webhooks").is_visible()
        check(page, "/accounts/ with the menu open", width, axe_source, failures)
    else:
        page.goto(url + reverse("accounts:list"))
        nav = page.get_by_role("navigation", name="Main")
        assert nav.get_by_role("link", name="Webhooks").is_visible()

    customer = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 800})
    customer.set_default_timeout(15_000)
    cpage = customer.new_page()
    landing = f"/install/{paths['token']}/"
    cpage.goto(url + landing)
    check(cpage, "/install/<token>/", width, axe_source, failures)
    heading = cpage.get_by_role("heading", name="Sandbox (API key)")
    cpage.get_by_role("listitem").filter(has=heading).get_by_role(  # it asks for the key
        "button", name="Connect").click()
    check(cpage, "/install/<token>/connect/ (details)", width, axe_source, failures)
    cpage.get_by_label("API key").fill("fake-wrong-key")
    cpage.get_by_role("button", name="Connect").click()
    cpage.wait_for_url(f"{url}/install/done/")
    check(cpage, "/install/done/ (failed)", width, axe_source, failures)
    cpage.goto(f"{url}/install/not-a-real-token-aaaaaaaaaaaa/")
    check(cpage, "/install/<unknown>/", width, axe_source, failures)
    context.close()
    customer.close()
    assert not failures, "\n".join(failures)
