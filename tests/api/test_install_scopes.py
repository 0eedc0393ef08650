"""Scopes by API (issue 20 §2): an install's `scopes` at creation, `requested_scopes` and
`granted_scopes` on the install, and `scopes` in the Authentication Settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account
from audit.models import Action, AuditEvent
from connectors.models import PartnerAuthSettings
from installs.models import Install
from links.models import InstallLink
from tests.api.helpers import assert_problem, call
from tests.factories import (
    authenticate,
    catalogue_connector,
    consent,
    path_and_query,
    query,
    sandbox_client_credentials,
    sandbox_oauth2,
)
from tests.fake_provider import install_fake
from tests.import_fixtures import accept, import_connector
from tests.wsgi_transport import WSGITransport

CREATE = "/api/v1/accounts/cust-1/installs"
SETTINGS = "/api/v1/connectors/sandbox-oauth2/settings"


@pytest.fixture
def account(partner, sandbox_transport):
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def sandbox(partner, account):
    return sandbox_oauth2(partner)


def test_install_scopes_reach_the_authorize_request_and_both_are_returned(
        api, admin_client, sandbox):
    """`scopes` at creation: kept, asked of the sandbox, granted, answered by GET."""
    code, body = call(api, "post", CREATE, {"connector": "sandbox-oauth2",
                                            "scopes": ["read", "profile"]})
    assert code == 201 and body["requested_scopes"] == ["read", "profile"], body
    assert body["granted_scopes"] is None  # nothing granted yet
    install = Install.objects.get(pk=body["id"])
    provider_url = authenticate(admin_client, install)
    assert query(provider_url)["scope"] == "read profile"
    admin_client.get(path_and_query(consent(admin_client, provider_url)))
    code, body = call(api, "get", f"/api/v1/installs/{install.pk}")
    assert code == 200 and body["status"] == "authenticated"
    assert body["requested_scopes"] == ["read", "profile"]
    assert body["granted_scopes"] == ["read", "profile"]


def test_granted_less_is_visible_not_an_error(api, admin_client, sandbox, account):
    """A provider that granted less: both lists answered, and the install page shows both."""
    install = Install.objects.create(account=account, connector=sandbox,
                                     status=Install.Status.AUTHENTICATED,
                                     requested_scopes=["read", "write"],
                                     token_info={"scope": "read"})
    code, body = call(api, "get", f"/api/v1/installs/{install.pk}")
    assert body["requested_scopes"] == ["read", "write"] and body["granted_scopes"] == ["read"]
    page = admin_client.get(f"/accounts/{account.pk}/installs/{install.pk}/").content.decode()
    assert "Requested scopes" in page and "Granted scopes" in page


def test_without_scopes_an_install_keeps_the_partners(api, partner, sandbox):
    PartnerAuthSettings.objects.filter(connector=sandbox).update(scopes=["email"])
    code, body = call(api, "post", CREATE, {"connector": "sandbox-oauth2"})
    assert code == 201 and body["requested_scopes"] == ["email"]


@pytest.mark.parametrize("scopes", [["read write"], ['"quoted"'], ["back\\slash"], [""]])
def test_invalid_scopes_are_422_and_nothing_is_saved(api, sandbox, scopes):
    before = AuditEvent.objects.count()
    response = api.post(CREATE, {"connector": "sandbox-oauth2", "scopes": scopes},
                        content_type="application/json")
    assert_problem(response, 422)
    assert list(response.json()["errors"]) == ["scopes"]
    assert not Install.objects.exists() and AuditEvent.objects.count() == before


def test_scopes_for_a_connector_without_them_are_422(api, partner, account):
    catalogue_connector("sandbox-api-key")
    response = api.post(CREATE, {"connector": "sandbox-api-key", "scopes": ["read"],
                                 "values": {"api_key": "fake-api-key-123"}},
                        content_type="application/json")
    assert_problem(response, 422)
    assert not Install.objects.exists()


def test_client_credentials_request_the_installs_scopes(api, partner, account):
    sandbox_client_credentials(partner)
    WSGITransport.calls = []
    code, body = call(api, "post", CREATE, {"connector": "sandbox-client-credentials",
                                            "scopes": ["read"]})
    assert code == 201 and body["status"] == "authenticated", body
    token_call = next(c for c in WSGITransport.calls if c.url.endswith("/token"))
    sent = token_call.body.decode() if isinstance(token_call.body, bytes) else token_call.body
    assert "scope=read" in sent and "write" not in sent
    assert body["requested_scopes"] == ["read"]


# --- Authentication Settings ----------------------------------------------------------


def test_settings_answer_and_change_scopes(api, partner, sandbox):
    code, body = call(api, "get", SETTINGS)
    assert code == 200 and body["scopes"] == ["read", "write"]  # the defaults
    code, body = call(api, "put", SETTINGS, {"values": {}, "scopes": ["read", "email"]})
    assert code == 200 and body["scopes"] == ["read", "email"]
    assert PartnerAuthSettings.objects.get(connector=sandbox).scopes == ["read", "email"]
    event = AuditEvent.objects.filter(action=Action.SETTINGS_SAVED).latest("id")
    assert event.detail == {"fields": ["scopes"]}
    code, body = call(api, "put", SETTINGS, {"values": {"client_id": "other-id"}})
    assert body["scopes"] == ["read", "email"]  # left out: unchanged
    code, body = call(api, "put", SETTINGS, {"values": {}, "scopes": []})
    assert body["scopes"] == ["read", "write"]  # [] goes back to the defaults


def test_invalid_settings_scopes_are_422_and_nothing_is_saved(api, partner, sandbox):
    response = api.put(SETTINGS, {"values": {"client_id": "changed"}, "scopes": ["a b"]},
                       content_type="application/json")
    assert_problem(response, 422)
    assert list(response.json()["errors"]) == ["scopes"]
    row = PartnerAuthSettings.objects.get(connector=sandbox)
    assert row.scopes is None and row.values["client_id"] != "changed"
    assert not AuditEvent.objects.filter(action=Action.SETTINGS_SAVED).exists()


# --- install links --------------------------------------------------------------------

LINKS = "/api/v1/accounts/cust-1/install-links"


def test_a_links_scopes_reach_the_authorize_request_and_the_install(api, client, sandbox):
    """An install link with scopes for a connector: the customer's Connect asks the sandbox
    for them, and the install made through the link keeps and is granted them."""
    code, body = call(api, "post", LINKS, {"connectors": ["sandbox-oauth2"],
                                           "scopes": {"sandbox-oauth2": ["read", "email"]}})
    assert code == 201, body
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    client.get(reverse("install:landing", args=[token]))
    start = client.post(reverse("install:connect", args=[token, "sandbox-oauth2"]))
    assert query(start["Location"])["scope"] == "read email"
    client.get(path_and_query(consent(client, start["Location"])))
    install = Install.objects.get()
    assert install.status == Install.Status.AUTHENTICATED
    code, body = call(api, "get", f"/api/v1/installs/{install.pk}")
    assert body["requested_scopes"] == ["read", "email"]
    assert body["granted_scopes"] == ["read", "email"]


@pytest.mark.parametrize("scopes", [{"sandbox-oauth2": ["no good"]},
                                    {"sandbox-api-key": ["read"]}])
def test_invalid_link_scopes_are_422_and_no_link(api, sandbox, scopes):
    response = api.post(LINKS, {"connectors": ["sandbox-oauth2"], "scopes": scopes},
                        content_type="application/json")
    assert_problem(response, 422)
    assert list(response.json()["errors"]) == ["scopes"]
    assert not InstallLink.objects.exists()


# --- imported connections -------------------------------------------------------------


def test_an_imported_install_keeps_its_scopes_and_its_granted_ones(api, partner, monkeypatch):
    provider = install_fake(monkeypatch)
    import_connector(partner)
    Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    accept(provider)
    code, body = call(api, "post", CREATE, {
        "connector": "fake-import", "name": "Sales", "scopes": ["read", "write"],
        "credentials": {"access_token": "fake-access-ok-1", "expires_in": 1800,
                        "scope": "read"}})
    assert code == 201 and body["status"] == "authenticated", body
    assert body["requested_scopes"] == ["read", "write"] and body["granted_scopes"] == ["read"]
    assert Install.objects.get().requested_scopes == ["read", "write"]
