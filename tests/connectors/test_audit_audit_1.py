"""Issue 22 item 2, audit-1's share: each corrected fact of a catalogue entry, checked against
the shipped spec (the URL, pattern or request the provider's own docs call for)."""

from __future__ import annotations

import re

from connectors.schema import ConnectorSpec
from connectors.spec import CATALOG_DIR, load_catalog

CATALOG = load_catalog()


def spec(slug: str) -> ConnectorSpec:
    return ConnectorSpec.from_data(slug, CATALOG[slug])


def pattern(slug: str, key: str) -> str:
    field = spec(slug).field(key)
    assert field is not None and field.pattern
    return field.pattern


def comments(slug: str) -> str:
    text = (CATALOG_DIR / f"{slug}.toml").read_text()
    return "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))


def test_activecampaign_key_pattern_accepts_the_documented_example_key():
    assert re.fullmatch(pattern("activecampaign", "api_key"), "123abc-def-ghi")
    assert not re.fullmatch(pattern("activecampaign", "api_key"), "123abc def")
    assert "developers.activecampaign.com/docs/authentication" in comments("activecampaign")


def test_cloudflare_verify_requires_an_active_token():
    cloudflare = spec("cloudflare")
    assert cloudflare.verify_request == ("GET", "/user/tokens/verify")
    assert CATALOG["cloudflare"]["api"]["verify_expect"] == {"result.status": "active"}
    assert "developers.cloudflare.com/fundamentals/api/troubleshooting" in comments("cloudflare")
