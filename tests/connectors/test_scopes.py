"""Scopes per partner and per install (issue 20 §2): the catalogue's `optional_scopes`,
Authentication Settings' Scopes, and what a sign-in's authorize request asks for."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from connectors.models import Connector, PartnerAuthSettings
from connectors.spec import CatalogError, parse
from installs.installing import create_install
from installs.models import Install
from links.models import InstallLink
from tests.factories import (
    account,
    authenticate,
    consent,
    make_connector,
    new_install,
    path_and_query,
    query,
    sandbox_oauth2,
)

BODY = {"name": "Acme", "description": "A connector with optional scopes.",
        "auth": {"type": "oauth2", "authorize_url": "https://acme.example.com/authorize",
                 "token_url": "https://acme.example.com/token", "scopes": ["read"],
                 "optional_scopes": [{"scope": "write", "description": "Change records"}]},
        "fields": [{"key": "client_id", "label": "Client ID"}]}


def test_the_catalogue_declares_optional_scopes():
    spec = parse("body", copy.deepcopy(BODY))
    assert [(o.scope, o.description) for o in spec.auth.optional_scopes] == [
        ("write", "Change records")]


@pytest.mark.parametrize("scope", ["two words", 'quo"te', "back\\slash", "", "caf\u00e9"])
def test_an_optional_scope_must_be_an_rfc_6749_scope_token(scope):
    bad = copy.deepcopy(BODY)
    bad["auth"]["optional_scopes"][0]["scope"] = scope
    with pytest.raises(CatalogError, match=r"auth\.optional_scopes\[0\]\.scope"):
        parse("body", bad)


def test_a_default_scope_must_be_a_scope_token_too():
    bad = copy.deepcopy(BODY)
    bad["auth"]["scopes"] = ["read write"]
    with pytest.raises(CatalogError, match=r"auth\.scopes"):
        parse("body", bad)


def test_an_optional_scope_listed_twice_or_as_a_default_is_refused():
    bad = copy.deepcopy(BODY)
    bad["auth"]["optional_scopes"].append({"scope": "read", "description": "Again"})
    with pytest.raises(CatalogError, match=r"auth\.optional_scopes\[1\]\.scope: 'read'"):
        parse("body", bad)


def test_optional_scopes_apply_to_oauth2_only():
    bad = {"name": "Key", "description": "An API key connector.",
           "auth": {"type": "api_key", "header": "X-Key",
                    "optional_scopes": [{"scope": "write", "description": "Change"}]},
           "fields": [{"key": "api_key", "label": "API key", "level": "account"}]}
    with pytest.raises(CatalogError, match=r"auth\.optional_scopes: does not apply"):
        parse("body", bad)


# --- Authentication Settings: Scopes ----------------------------------------------------


def settings_url(slug: str = "sandbox-oauth2") -> str:
    return reverse("connectors:settings", args=[slug])


@pytest.fixture
def sandbox(partner, sandbox_transport) -> Connector:
    return sandbox_oauth2(partner)


def stored(partner, connector) -> PartnerAuthSettings:
    return PartnerAuthSettings.objects.get(partner=partner, connector=connector)


def post_scopes(client, connector, partner, **data: Any):
    saved = stored(partner, connector)
    return client.post(settings_url(), {"client_id": saved.values["client_id"], **data})


def test_the_settings_page_shows_scopes_prefilled_with_the_defaults(admin_client, sandbox):
    page = admin_client.get(settings_url()).content.decode()
    assert re.search(r'<input[^>]*name="scopes"[^>]*value="read write"', page), page
    for optional in ("profile", "email", "offline_access"):
        assert re.search(rf'<input[^>]*type="checkbox"[^>]*name="optional_scopes"[^>]*'
                         rf'value="{optional}"', page)


def test_a_settings_page_without_oauth2_has_no_scopes(admin_client, partner, db):
    make_connector("open-data", {"name": "Open Data", "description": "Public data.",
                                 "auth": {"type": "none"}})
    assert 'name="scopes"' not in admin_client.get(settings_url("open-data")).content.decode()


def test_saved_scopes_are_audited_and_reach_the_authorize_request(admin_client, partner,
                                                                  sandbox):
    """Scopes chosen in Authentication Settings: saved with Save Changes, audited by name,
    and what a sign-in of an install without its own scopes asks the provider for."""
    response = post_scopes(admin_client, sandbox, partner, scopes="read",
                           optional_scopes=["profile", "email"])
    assert response.status_code == 302
    assert stored(partner, sandbox).scopes == ["read", "profile", "email"]
    event = AuditEvent.objects.filter(action="settings.saved").latest("id")
    assert event.detail["fields"] == ["scopes"]
    page = admin_client.get(settings_url()).content.decode()
    assert re.search(r'<input[^>]*name="scopes"[^>]*value="read"', page)
    assert re.search(r'value="profile"[^>]*checked|checked[^>]*value="profile"', page)

    install = new_install(account(partner), sandbox)  # no scopes of its own
    assert query(authenticate(admin_client, install))["scope"] == "read profile email"


def test_blank_scopes_go_back_to_the_defaults(admin_client, partner, sandbox):
    post_scopes(admin_client, sandbox, partner, scopes="read", optional_scopes=["email"])
    post_scopes(admin_client, sandbox, partner, scopes="")
    assert stored(partner, sandbox).scopes is None
    install = new_install(account(partner), sandbox)
    assert query(authenticate(admin_client, install))["scope"] == "read write"


@pytest.mark.parametrize("entered", ['read "write"', "read back\\slash", "caf\u00e9"])
def test_an_invalid_scope_is_a_form_error_and_nothing_is_saved(admin_client, partner, sandbox,
                                                               entered):
    before = AuditEvent.objects.count()
    response = post_scopes(admin_client, sandbox, partner, scopes=entered)
    assert response.status_code == 200
    assert "is not a valid scope" in response.content.decode()
    assert stored(partner, sandbox).scopes is None
    assert AuditEvent.objects.count() == before


def test_an_installs_own_scopes_win_and_reauthentication_asks_for_them_again(
        admin_client, partner, sandbox):
    """The install's scopes over the partner's; a second sign-in requests the same."""
    post_scopes(admin_client, sandbox, partner, scopes="read write")
    install = create_install(account=account(partner), connector=sandbox, actor=None,
                             scopes=["read", "offline_access"])
    assert install.requested_scopes == ["read", "offline_access"]
    post_scopes(admin_client, sandbox, partner, scopes="write")  # later change: not this one's
    callback = consent(admin_client, authenticate(admin_client, install))
    assert query(callback).get("code")
    admin_client.get(path_and_query(callback))
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert install.granted_scopes == ["read", "offline_access"]
    assert query(authenticate(admin_client, install))["scope"] == "read offline_access"


def test_a_new_install_keeps_the_partners_scopes_of_its_time(admin_client, partner, sandbox):
    post_scopes(admin_client, sandbox, partner, scopes="read", optional_scopes=["email"])
    install = create_install(account=account(partner), connector=sandbox, actor=None)
    assert install.requested_scopes == ["read", "email"]
    post_scopes(admin_client, sandbox, partner, scopes="write")
    assert query(authenticate(admin_client, install))["scope"] == "read email"


# --- the console's install form ---------------------------------------------------------


def test_the_install_form_has_scopes_under_advanced_prefilled_from_the_partners(
        admin_client, partner, sandbox):
    PartnerAuthSettings.objects.filter(connector=sandbox).update(scopes=["read", "email"])
    customer = account(partner)
    url = reverse("accounts:install_new", args=[customer.pk, "sandbox-oauth2"])
    page = admin_client.get(url).content.decode()
    assert re.search(r'<details[^>]*>\s*<summary>Advanced</summary>.*name="scopes"[^>]*'
                     r'value="read email"', page, re.S), page
    response = admin_client.post(url, {"install_name": "CRM", "scopes": "read profile"})
    assert response.status_code == 302
    install = Install.objects.get()
    assert install.requested_scopes == ["read", "profile"]
    assert query(authenticate(admin_client, install))["scope"] == "read profile"


def test_an_invalid_install_scope_is_a_form_error_and_no_install(admin_client, partner,
                                                                 sandbox):
    customer = account(partner)
    url = reverse("accounts:install_new", args=[customer.pk, "sandbox-oauth2"])
    response = admin_client.post(url, {"install_name": "CRM", "scopes": 'read "all"'})
    assert response.status_code == 200
    page = response.content.decode()
    assert "is not a valid scope" in page and "<details class=\"advanced\" open>" in page
    assert not Install.objects.exists()


# --- the console's install link form ----------------------------------------------------


def test_the_link_form_takes_scopes_per_connector(admin_client, partner, sandbox):
    customer = account(partner)
    url = reverse("links:link_create", args=[customer.pk])
    page = admin_client.get(url).content.decode()
    assert re.search(r"<summary>Advanced</summary>.*name=\"scopes__sandbox-oauth2\"", page,
                     re.S)
    response = admin_client.post(url, {"connectors": [sandbox.pk], "expires_minutes": "60",
                                       "scopes__sandbox-oauth2": "read email"})
    assert response.status_code == 200 and "/install/" in response.content.decode()
    assert InstallLink.objects.get().scopes == {"sandbox-oauth2": ["read", "email"]}


def test_an_invalid_link_scope_is_a_form_error_and_no_link(admin_client, partner, sandbox):
    customer = account(partner)
    url = reverse("links:link_create", args=[customer.pk])
    response = admin_client.post(url, {"connectors": [sandbox.pk], "expires_minutes": "60",
                                       "scopes__sandbox-oauth2": "read\\all"})
    page = response.content.decode()
    assert "is not a valid scope" in page and '<details class="advanced" open>' in page
    assert not InstallLink.objects.exists()
