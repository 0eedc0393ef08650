"""Issue 22 item 2, audit-5's share: each corrected or added fact of a catalogue entry, checked
against the shipped spec (the URL or comment the provider's own docs call for)."""

from __future__ import annotations

from tests.connectors.catalogue import comments, spec


def test_zoho_crm_cites_revocation_and_says_why_it_declares_none():
    """Zoho documents POST <accounts server>/oauth/v2/token/revoke, with the token in the
    query string; Hatchway's revocation sends a form body, which Zoho's docs do not confirm,
    so the entry cites the endpoint and says why it has no revoke_url."""
    assert spec("zoho-crm").auth.revoke_url == ""
    text = comments("zoho-crm")
    assert "zoho.com/contracts/api/getting-started/refreshing-access-tokens.html" in text
    assert "no revoke_url" in text


def test_miro_says_v2_revocation_takes_non_rfc_7009_fields():
    """The comment said v2's body fields could not be confirmed; Miro's changelog lists them
    (access_token, clientId, clientSecret), which is why no revoke_url is declared."""
    text = comments("miro")
    assert spec("miro").auth.revoke_url == ""
    assert "access_token, clientId and" in text and "clientSecret" in text
    assert "could not be\n# confirmed" not in text
    assert "developers.miro.com/changelog/2024-12-16" in text


def test_google_ads_cites_googles_own_page_for_the_api_version():
    """v26 was cited to a reference page that does not name the version; Google's sunset-dates
    page recommends starting with v26."""
    assert spec("google-ads").api.base_url == "https://googleads.googleapis.com/v26"
    assert "developers.google.com/google-ads/api/docs/sunset-dates" in comments("google-ads")
