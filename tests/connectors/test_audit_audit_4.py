"""Issue 22 item 2, audit-4's share: each corrected fact of a catalogue entry, checked against
the shipped spec (the URL, header or request the provider's own docs call for)."""

from __future__ import annotations

from connectors.schema import ConnectorSpec
from connectors.spec import CATALOG_DIR, load_catalog

CATALOG = load_catalog()


def spec(slug: str) -> ConnectorSpec:
    return ConnectorSpec.from_data(slug, CATALOG[slug])


def comments(slug: str) -> str:
    text = (CATALOG_DIR / f"{slug}.toml").read_text()
    return "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))


def test_shopify_sends_the_token_in_its_own_header_and_verifies_the_granted_scopes():
    """The Admin API takes X-Shopify-Access-Token (no prefix); the access-scopes list needs
    no scope, so the entry now has a verify request."""
    shopify = spec("shopify")
    assert shopify.api.token_header == "X-Shopify-Access-Token"
    assert shopify.api.token_prefix == ""
    assert shopify.verify_request == (
        "GET", "https://{shop}.myshopify.com/admin/oauth/access_scopes.json")
    assert "shopify.dev/docs/api/admin-rest/latest/resources/accessscope" in comments("shopify")


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
