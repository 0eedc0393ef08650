"""Issue 22 item 2, audit-1's share: each corrected fact of a catalogue entry, checked against
the shipped spec (the URL, pattern or request the provider's own docs call for)."""

from __future__ import annotations

import re

from tests.connectors.catalogue import CATALOG, comments, pattern, spec


def test_activecampaign_key_pattern_accepts_the_documented_example_key():
    assert re.fullmatch(pattern("activecampaign", "api_key"), "123abc-def-ghi")
    assert not re.fullmatch(pattern("activecampaign", "api_key"), "123abc def")
    assert "developers.activecampaign.com/docs/authentication" in comments("activecampaign")


def test_cloudflare_verify_requires_an_active_token():
    cloudflare = spec("cloudflare")
    assert cloudflare.verify_request == ("GET", "/user/tokens/verify")
    assert CATALOG["cloudflare"]["api"]["verify_expect"] == {"result.status": "active"}
    assert "developers.cloudflare.com/fundamentals/api/troubleshooting" in comments("cloudflare")


def test_datadog_offers_every_documented_site_and_checks_the_validate_answer():
    site = spec("datadog").field("site")
    assert site is not None
    assert site.choices["UK1"] == "api.uk1.datadoghq.com"
    assert site.choices["US2-FED"] == "api.us2.ddog-gov.com"
    assert re.fullmatch(pattern("datadog", "site"), "UK1")
    assert CATALOG["datadog"]["api"]["verify_expect"] == {"valid": True}
    assert "docs.datadoghq.com/api/latest/authentication/validate-api-key" in comments("datadog")


def test_docusign_proxies_to_the_accounts_esignature_host_not_the_sign_in_server():
    docusign = spec("docusign")
    assert docusign.api.base_url == "{base_uri}/restapi/v2.1"
    assert docusign.verify_request == ("GET", "https://account.docusign.com/oauth/userinfo")
    lookups = CATALOG["docusign"]["post_connection"]
    assert lookups == [{"request": "GET https://account.docusign.com/oauth/userinfo",
                        "capture": {"base_uri": "accounts.0.base_uri"}}]
    base_uri = pattern("docusign", "base_uri")
    assert re.fullmatch(base_uri, "https://na3.docusign.net")
    assert not re.fullmatch(base_uri, "https://account.docusign.com")
    assert not re.fullmatch(base_uri, "https://na3.docusign.net.evil.example")
    assert "developers.docusign.com/platform/auth/reference/user-info" in comments("docusign")
