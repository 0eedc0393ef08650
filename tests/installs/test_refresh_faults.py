"""A refresh that meets a fault is not a refusal (issue 19 items 7 and 8).

A real OAuth 2.0 method (the sandbox connector) refreshes against a fake token endpoint
answering with a fault: the install must be "Refresh failing" with a back-off and keep its
tokens. Only an OAuth error saying the grant is invalid asks for reauthentication. A token
response that is hostile (huge or control characters in a token, a nonsense expiry) stores
nothing, and an expiry that makes no sense is treated as unknown.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from installs import refresh
from installs.models import Install
from sandbox.seeding import seed_due_installs
from tests.fake_provider import FakeProvider, install_fake

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


@pytest.fixture
def install(partner) -> Install:
    return seed_due_installs(partner, 1).installs[0]


def token_url() -> str:
    return f"{settings.PUBLIC_URL}/sandbox/oauth2/token"


def tokens(**extra) -> dict:
    return {"access_token": "fake-access-new", "refresh_token": "fake-refresh-new",
            "token_type": "Bearer", "expires_in": 3600, **extra}


FAULTS = {
    "html body": {"text": "<html><body>Maintenance</body></html>",
                  "headers": {"Content-Type": "text/html"}},
    "garbage body": {"text": "\x00\x01garbage{"},
    "no access_token": {"json_body": {"token_type": "Bearer", "expires_in": 3600}},
    "a redirect": {"status": 302, "headers": {"Location": "https://elsewhere.localhost/"}},
    "a 303 with a token": {"status": 303, "json_body": tokens()},
    "unknown token_type": {"json_body": tokens(token_type="weird-type")},
    "reset mid-body": {"raises": requests.exceptions.ChunkedEncodingError("reset")},
    "OAuth error, not about the grant": {"status": 400, "json_body": {"error": "invalid_request"}},
    "invalid_client": {"status": 401, "json_body": {"error": "invalid_client"}},
    "an empty 400": {"status": 400, "text": ""},
    "200 with an unknown error": {"json_body": {"error": "weird_error"}},
}


@pytest.mark.parametrize("canned", FAULTS.values(), ids=FAULTS.keys())
def test_a_fault_is_refresh_failing_with_the_tokens_kept(fake, install, canned):
    """Item 7: HTML, garbage, no token, 3xx, odd token type, a reset: back-off, tokens kept."""
    before = dict(install.credentials)
    fake.add("POST", token_url(), **canned)
    assert refresh.refresh_install(install.pk) == refresh.FAILING
    install.refresh_from_db()
    assert install.status == Install.Status.REFRESH_FAILING
    assert install.credentials == before
    assert install.next_refresh_at and install.next_refresh_at > timezone.now()
    assert install.refresh_failures == 1


def test_invalid_grant_still_requires_reauthentication(fake, install):
    """Item 7: the OAuth error that says the grant is invalid (RFC 6749 §5.2) → re-consent."""
    fake.add("POST", token_url(), status=400, json_body={"error": "invalid_grant"})
    assert refresh.refresh_install(install.pk) == refresh.REAUTH_REQUIRED
    install.refresh_from_db()
    assert install.status == Install.Status.REAUTH_REQUIRED


HOSTILE = {
    "a 17 KB access token": tokens(access_token="a" * (17 * 1024)),
    "a 17 KB refresh token": tokens(refresh_token="r" * (17 * 1024)),
    "CR LF in the access token": tokens(access_token="abc\r\nX-Injected: 1"),
    "NUL in the refresh token": tokens(refresh_token="abc\x00def"),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_token_is_not_stored(fake, install, body):
    """Item 8: tokens over 16 KB or with CR, LF or NUL are refused; nothing is stored."""
    before = dict(install.credentials)
    fake.add("POST", token_url(), json_body=body)
    assert refresh.refresh_install(install.pk) == refresh.FAILING
    install.refresh_from_db()
    assert install.credentials == before
    assert "a" * 100 not in install.last_error and "abc" not in install.last_error


def test_a_16_kb_token_is_accepted(fake, install):
    """Item 8: the bound is 16 KB; a token of exactly that size is stored."""
    fake.add("POST", token_url(), json_body=tokens(access_token="a" * (16 * 1024)))
    assert refresh.refresh_install(install.pk) == refresh.REFRESHED
    install.refresh_from_db()
    assert install.credentials["access_token"] == "a" * (16 * 1024)


@pytest.mark.parametrize("expires_in", [0, -5, "soon", "nan", 1e300, 10 ** 12, True],
                         ids=["zero", "negative", "text", "nan", "1e300", "huge", "bool"])
def test_a_nonsense_expiry_is_refreshed_within_the_margin(fake, install, expires_in):
    """Item 8: expires_in ≤ 0, absurd or not a number → unknown: refreshed again within the
    margin (never "valid forever", never a crash)."""
    fake.add("POST", token_url(), json_body=tokens(expires_in=expires_in))
    assert refresh.refresh_install(install.pk) == refresh.REFRESHED
    install.refresh_from_db()
    assert install.credentials["access_token"] == "fake-access-new"
    margin = timedelta(seconds=settings.TOKEN_REFRESH_MARGIN)
    assert install.expires_at is not None
    assert timezone.now() + margin < install.expires_at <= timezone.now() + 2 * margin
    assert install.is_due(install.expires_at - margin)


def test_a_nonsense_expiry_uses_the_catalogues_default(fake, install):
    """Item 8: with `default_expires_in` in the catalogue, that lifetime is used instead."""
    spec_data = dict(install.connector.spec_data)
    spec_data["auth"] = {**spec_data["auth"], "default_expires_in": 7200}
    install.connector.spec_data = spec_data
    install.connector.save()
    fake.add("POST", token_url(), json_body=tokens(expires_in=-1))
    assert refresh.refresh_install(install.pk) == refresh.REFRESHED
    install.refresh_from_db()
    left = (install.expires_at - timezone.now()).total_seconds()
    assert 7100 < left <= 7200


def test_a_missing_expiry_still_means_no_expiry(fake, install):
    """A response without expires_in (and no default) is a token that does not expire."""
    body = tokens()
    del body["expires_in"]
    fake.add("POST", token_url(), json_body=body)
    assert refresh.refresh_install(install.pk) == refresh.REFRESHED
    install.refresh_from_db()
    assert install.expires_at is None
