"""Sandbox connectors exist only where the sandbox runs (issue 19 item 16).

With SANDBOX_ENABLED off (production) the sandbox's own connectors -- which point at
`/sandbox/` on this server, which is not served then -- are not listed, offered or
installable: not in the console library, their Authentication Settings cannot be saved,
no install can be started in the console, the API or through an install link. A
provider's real sandbox (PayPal's, Salesforce's) is a connector like any other.
"""

from __future__ import annotations

import tomllib

import pytest
from django.urls import reverse

from accounts.models import Account
from audit.models import AuditEvent
from connectors.models import SANDBOX_SLUG_PREFIX, Connector, PartnerAuthSettings
from connectors.spec import CATALOG_DIR
from installs.models import Install
from links.models import InstallLink
from tests.api.helpers import bearer, call, make_key
from tests.factories import catalogue_connector, save_settings

pytestmark = pytest.mark.django_db

SANDBOX = ("sandbox-api-key", "sandbox-oauth2", "sandbox-basic", "sandbox-oauth1",
           "sandbox-client-credentials", "sandbox-two-step", "sandbox-github-app")


@pytest.fixture
def connectors(partner) -> dict[str, Connector]:
    rows = {slug: catalogue_connector(slug) for slug in (*SANDBOX, "paypal-sandbox")}
    save_settings(partner, rows["sandbox-api-key"])
    return rows


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def sandbox_off(settings):
    settings.SANDBOX_ENABLED = False


def test_the_library_lists_them_only_with_the_sandbox(admin_client, connectors, settings):
    """Library: "Sandbox (…)" cards with the sandbox on, none with it off; PayPal's stays."""
    listed = admin_client.get(reverse("connectors:library"), {"q": "sandbox"}).content.decode()
    assert "Sandbox (API key)" in listed or "Sandbox (API Key)" in listed
    settings.SANDBOX_ENABLED = False
    listed = admin_client.get(reverse("connectors:library"), {"q": "sandbox"}).content.decode()
    for slug in SANDBOX:
        assert connectors[slug].name not in listed
    assert connectors["paypal-sandbox"].name in listed


@pytest.mark.usefixtures("sandbox_off")
def test_their_settings_cannot_be_opened_or_saved(admin_client, connectors):
    """Authentication Settings of a sandbox connector: 404 on GET and POST, nothing saved."""
    url = reverse("connectors:settings", args=["sandbox-oauth2"])
    assert admin_client.get(url).status_code == 404
    response = admin_client.post(url, {"client_id": "x", "client_secret": "y"})
    assert response.status_code == 404
    assert not PartnerAuthSettings.objects.filter(connector__slug="sandbox-oauth2").exists()


@pytest.mark.usefixtures("sandbox_off")
def test_the_console_does_not_offer_or_install_them(admin_client, connectors, account):
    """The console's install picker leaves them out; their install page is a 404."""
    pick = admin_client.get(reverse("accounts:install_pick", args=[account.pk]))
    assert "sandbox-api-key" not in pick.content.decode()
    new = reverse("accounts:install_new", args=[account.pk, "sandbox-api-key"])
    assert admin_client.get(new).status_code == 404
    assert admin_client.post(new, {"install_name": "x", "api_key": "k"}).status_code == 404
    assert not Install.objects.exists()


@pytest.mark.usefixtures("sandbox_off")
def test_the_api_does_not_list_or_install_them(partner, connectors, account):
    """API: not in GET /connectors, 404 on GET /connectors/{slug}, 400 on install, and an
    install link cannot name one; nothing written."""
    api = bearer(make_key(partner)[1])
    code, page = call(api, "get", "/api/v1/connectors?limit=200")
    assert code == 200
    assert not {c["slug"] for c in page["results"]} & set(SANDBOX)
    assert call(api, "get", "/api/v1/connectors/sandbox-api-key")[0] == 404
    code, problem = call(api, "post", "/api/v1/accounts/cust-1/installs",
                         {"connector": "sandbox-api-key", "values": {"api_key": "k"}})
    assert code == 400 and "connector" in problem["errors"]
    code, problem = call(api, "post", "/api/v1/accounts/cust-1/install-links",
                         {"connectors": ["sandbox-api-key"]})
    assert code == 400 and "connectors" in problem["errors"]
    assert not Install.objects.exists() and not InstallLink.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="install.").exists()


def test_an_install_link_made_earlier_no_longer_offers_them(partner, connectors, account,
                                                           settings, client):
    """A link made while the sandbox ran: its sandbox connectors are no longer offered."""
    api = bearer(make_key(partner)[1])
    code, link = call(api, "post", "/api/v1/accounts/cust-1/install-links",
                      {"connectors": ["sandbox-api-key"]})
    assert code == 201
    path = link["url"].split("testserver", 1)[1]
    assert "Sandbox" in client.get(path).content.decode()
    settings.SANDBOX_ENABLED = False
    assert "Sandbox (API" not in client.get(path).content.decode()
    response = client.post(f"{path}connect/sandbox-api-key/", {"api_key": "k"})
    assert response.status_code in (302, 404)
    assert not Install.objects.exists()


def test_the_sandbox_slug_prefix_marks_exactly_the_sandbox_category():
    """The prefix that hides them is the catalogue's "Sandbox" category, no more, no less."""
    for path in CATALOG_DIR.glob("*.toml"):
        in_category = "Sandbox" in tomllib.loads(path.read_text()).get("categories", [])
        assert path.stem.startswith(SANDBOX_SLUG_PREFIX) == in_category, path.name
