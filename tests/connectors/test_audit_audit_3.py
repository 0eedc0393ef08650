"""Issue 22 item 2 (audit-3): each corrected fact of the catalogue audit, checked against the
value the provider's documentation calls for."""

from __future__ import annotations

import re

from tests.connectors.catalogue import comments, pattern, spec


def test_statuspage_accepts_the_64_hex_key_its_api_reference_shows():
    """Statuspage's "Obtaining your API Key" example is 64 hex characters; the old pattern
    stopped at 36 and refused it."""
    key = pattern("statuspage", "api_key")
    assert re.fullmatch(key, "89a229ce1a8dbcf9ff30430fbe35eb4c0426574bca932061892cefd2138aa4b1")
    assert re.fullmatch(key, "0123456789abcdef0123456789abcdef")
    for bad in ("89a229ce", "OAuth 89a229ce1a8dbcf9ff30430fbe35eb4c", "G" * 40, "a" * 65):
        assert not re.fullmatch(key, bad), bad
    assert "Obtaining your API Key" in comments("statuspage")


def test_tiktok_comments_give_the_documented_token_lifetimes():
    """TikTok's token-management page gives 2 hours (access) and 180 days (refresh); the file
    said 24 hours and 365 days. No default_expires_in: the answer carries expires_in."""
    text = comments("tiktok")
    assert "access tokens last 2 hours" in text and "refresh tokens 180 days" in text
    assert "developers.tiktok.com/docs/zh-Hans/oauth-user-access-token-management" in text
    assert not spec("tiktok").auth.default_expires_in
