"""Issuer discovery for custom connectors (connectors/issuer_discovery.py over
connectors/discovery.py): RFC 8414 with the path inserted, then OpenID Connect discovery;
the metadata's issuer must match; every fetch through the SSRF guard."""

from __future__ import annotations

import pytest

from connectors.discovery import metadata_urls
from connectors.issuer_discovery import DiscoveryError, discover
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
    with pytest.raises(DiscoveryError, match="publishes no metadata"):
        discover(HOST)


@pytest.mark.parametrize("issuer", ["https://127.0.0.1/", "https://10.0.0.1/tenant",
                                    "http://93.184.216.34/", "https://169.254.169.254/"])
def test_private_or_plain_http_issuers_are_refused_in_production(monkeypatch, settings, issuer):
    settings.ALLOW_LOCAL_PROVIDERS = False
    fake = install_fake(monkeypatch)
    with pytest.raises(DiscoveryError):
        discover(issuer)
    assert fake.calls == []  # refused before any request


def test_falls_back_to_openid_configuration_inserted_before_the_path(monkeypatch):
    """RFC 8414 §5: the OIDC suffix inserted like RFC 8414's, after both others."""
    fake = install_fake(monkeypatch)
    issuer = f"{HOST}/realm"
    fake.add("GET", f"{HOST}/.well-known/oauth-authorization-server/realm", status=404)
    fake.add("GET", f"{issuer}/.well-known/openid-configuration", status=404)
    fake.add("GET", f"{HOST}/.well-known/openid-configuration/realm", json_body=metadata(issuer))
    assert discover(issuer).auth["token_url"] == f"{issuer}/token"


def test_client_credentials_needs_no_authorization_endpoint(monkeypatch):
    fake = install_fake(monkeypatch)
    document = {"issuer": HOST, "token_endpoint": f"{HOST}/token",
                "code_challenge_methods_supported": ["plain"]}
    fake.add("GET", f"{HOST}/.well-known/oauth-authorization-server", json_body=document)
    auth = discover(HOST, sign_in=False).auth
    assert auth["token_url"] == f"{HOST}/token" and "authorize_url" not in auth
    with pytest.raises(DiscoveryError, match="authorization_endpoint"):
        discover(HOST)  # a sign-in needs one
