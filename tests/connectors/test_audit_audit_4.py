"""Issue 22 item 2, audit-4's share: each corrected fact of a catalogue entry, checked against
the shipped spec (the URL, header or request the provider's own docs call for)."""

from __future__ import annotations

import socket

import pytest

from connectors.auth import build_method
from connectors.auth.base import Context
from tests.connectors.catalogue import comments, spec
from tests.fake_provider import FakeProvider, install_fake


def test_shopify_sends_the_token_in_its_own_header_and_verifies_the_granted_scopes():
    """The Admin API takes X-Shopify-Access-Token (no prefix); the access-scopes list needs
    no scope, so the entry now has a verify request."""
    shopify = spec("shopify")
    assert shopify.api.token_header == "X-Shopify-Access-Token"
    assert shopify.api.token_prefix == ""
    assert shopify.verify_request == (
        "GET", "https://{shop}.myshopify.com/admin/oauth/access_scopes.json")
    assert "shopify.dev/docs/api/admin-rest/latest/resources/accessscope" in comments("shopify")


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    """The fake provider, with provider host names resolving to a public address."""
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *args, **kwargs: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port or 0))])
    return install_fake(monkeypatch)


def test_shopify_verify_reaches_the_store_with_the_token_in_its_own_header(fake):
    """The verify goes to the customer's store and carries X-Shopify-Access-Token, no bearer."""
    url = "https://acme-store.myshopify.com/admin/oauth/access_scopes.json"
    fake.add("GET", url, json_body={"access_scopes": [{"handle": "read_products"}]})
    values = {"client_id": "fake-client", "shop": "acme-store"}
    build_method(Context(spec=spec("shopify"), values=values)).verify(
        {"access_token": "shpat_fake", "token_type": "Bearer"})
    [call] = fake.calls
    assert call.url == url
    assert fake.header(call, "X-Shopify-Access-Token") == "shpat_fake"
    assert "Authorization" not in call.headers


def test_xero_cites_xero_not_a_third_party_for_the_scope_change():
    assert "developer.xero.com/faq/granular-scopes" in comments("xero")
    assert "apideck" not in comments("xero")


def test_confluence_asks_for_an_unscoped_api_token_and_says_it_expires():
    """Scoped Atlassian API tokens only work through api.atlassian.com, and API tokens expire
    after at most a year; the site-URL entry's help must say both."""
    token = spec("confluence").field("password")
    assert token is not None
    assert 'not "with scopes"' in token.help
    assert "expires after at most one year" in token.help
    page = "atlassian-account/docs/manage-api-tokens-for-your-atlassian-account"
    assert page in comments("confluence")


def test_discord_cites_discords_own_docs_source():
    source = "github.com/discord/discord-api-docs/blob/main/docs/topics/oauth2.mdx"
    assert source in comments("discord")
    assert "third-party" not in comments("discord")
