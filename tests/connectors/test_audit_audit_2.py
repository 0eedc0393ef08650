"""Issue 22 step 2, second batch of the audit: each corrected fact, checked as a fact of the
shipped spec (the endpoint, flag or pattern the provider's own docs call for)."""

from __future__ import annotations

from tests.connectors.catalogue import comments, spec


def test_monday_uses_the_oauth_2_1_token_endpoint_with_pkce_that_new_apps_must_use():
    auth = spec("monday").auth
    assert auth.token_url == "https://auth.monday.com/oauth_ms/oauth/token"
    assert auth.authorize_url == "https://auth.monday.com/oauth2/authorize"
    assert auth.pkce is True
    assert "developer.monday.com/apps/docs/oauth-2-1" in comments("monday")


def test_pagerduty_keys_are_checked_as_the_20_character_strings_pagerduty_documents():
    field = spec("pagerduty").field("api_key")
    assert field is not None and field.pattern == r"^\S{20}$"
    assert "support.pagerduty.com/docs/using-the-api" in comments("pagerduty")


def test_personio_declares_its_documented_v2_token_revocation_endpoint():
    assert spec("personio").auth.revoke_url == "https://api.personio.de/v2/auth/revoke"
    assert "developer.personio.de/reference/post_v2-auth-revoke" in comments("personio")
