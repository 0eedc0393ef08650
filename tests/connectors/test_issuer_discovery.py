"""Issuer discovery for custom connectors (connectors/issuer_discovery.py): RFC 8414 with
the path inserted, then OpenID Connect discovery; the metadata's issuer must match; every
fetch through the SSRF guard."""

from __future__ import annotations

import pytest

from connectors import http
from connectors.issuer_discovery import DiscoveryError, discover, metadata_urls
from tests.fake_provider import HOST, install_fake


def metadata(issuer: str, **extra) -> dict:
    return {"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token", **extra}


def test_rfc_8414_inserts_the_well_known_path_before_the_issuer_path():
    assert metadata_urls("https://a.example/tenant/1") == [
        "https://a.example/.well-known/oauth-authorization-server/tenant/1",
        "https://a.example/tenant/1/.well-known/openid-configuration",
        "https://a.example/.well-known/openid-configuration/tenant/1",
    ]
    assert metadata_urls("https://a.example/") == [
        "https://a.example/.well-known/oauth-authorization-server",
        "https://a.example/.well-known/openid-configuration",
    ]


def test_rfc_8414_metadata_fills_endpoints_pkce_scopes_and_client_auth(monkeypatch):
    fake = install_fake(monkeypatch)
    issuer = f"{HOST}/tenant"
    fake.add("GET", f"{HOST}/.well-known/oauth-authorization-server/tenant", json_body=metadata(
        issuer, revocation_endpoint=f"{issuer}/revoke", code_challenge_methods_supported=["S256"],
        scopes_supported=["read", "write", "bad scope"],
        token_endpoint_auth_methods_supported=["client_secret_post"]))
    auth = discover(issuer).auth
    assert auth["authorize_url"] == f"{issuer}/authorize"
    assert auth["token_url"] == f"{issuer}/token" and auth["revoke_url"] == f"{issuer}/revoke"
    assert auth["pkce"] is True and auth["token_auth"] == "client_secret_post"
    assert [o["scope"] for o in auth["optional_scopes"]] == ["read", "write"]  # tokens only
    assert auth["issuer"] == issuer


def test_falls_back_to_openid_connect_discovery(monkeypatch):
    fake = install_fake(monkeypatch)
    issuer = f"{HOST}/realm"
    fake.add("GET", f"{HOST}/.well-known/oauth-authorization-server/realm", status=404)
    fake.add("GET", f"{issuer}/.well-known/openid-configuration", json_body=metadata(issuer))
    auth = discover(issuer).auth
    assert auth["token_url"] == f"{issuer}/token"
    assert auth["pkce"] is False and auth["token_auth"] == "client_secret_basic"  # RFC 8414 §2


def test_metadata_naming_another_issuer_is_refused(monkeypatch):
    fake = install_fake(monkeypatch)
    fake.add("GET", f"{HOST}/.well-known/oauth-authorization-server",
             json_body=metadata("https://evil.localhost"))
    with pytest.raises(DiscoveryError, match="another issuer"):
        discover(HOST)


def test_nothing_found_is_refused(monkeypatch):
    fake = install_fake(monkeypatch)
    for url in metadata_urls(HOST):
        fake.add("GET", url, status=404)
    with pytest.raises(DiscoveryError, match="No authorization server metadata"):
        discover(HOST)


@pytest.mark.parametrize("issuer", ["https://127.0.0.1/", "https://10.0.0.1/tenant",
                                    "http://93.184.216.34/", "https://169.254.169.254/"])
def test_private_or_plain_http_issuers_are_refused_in_production(monkeypatch, settings, issuer):
    settings.ALLOW_LOCAL_PROVIDERS = False
    fake = install_fake(monkeypatch)
    with pytest.raises(DiscoveryError):
        discover(issuer)
    assert fake.calls == []  # refused before any request


@pytest.mark.parametrize("url", ["https://10.0.0.8/x", "https://localhost/x", "https://0x7f000001/x",
                                 "http://93.184.216.34/x", "https://user@93.184.216.34/x"])
def test_entered_urls_are_refused_like_called_ones(settings, url):
    settings.ALLOW_LOCAL_PROVIDERS = False
    with pytest.raises(http.UnsafeURL):
        http.check_entered_url(url)


def test_an_entered_name_that_does_not_resolve_yet_is_accepted(settings):
    """Checked again on every call: a provider's host may not resolve from here yet."""
    settings.ALLOW_LOCAL_PROVIDERS = False
    http.check_entered_url("https://api.acme-crm.invalid/v1")
