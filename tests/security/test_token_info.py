"""SECURITY.md "Outbound requests": only allow-listed, non-secret keys of a token response
are kept unencrypted (`Credentials.info`, stored in the install's plain values)."""

from __future__ import annotations

import pytest

from connectors.auth.tokens import public_info
from tests.connectors import test_auth_oauth1 as o1
from tests.connectors import test_auth_oauth2 as o2

# Secret-bearing fields real providers return whose names a deny-list does not catch.
UNLISTED = {"jwt": "fake-jwt-aaa.bbb.ccc", "assertion": "fake-assertion-xyz",
            "credential": "fake-credential-123", "webhook_url": "https://hooks.example/fake-1",
            "signature": "fake-signature-abc", "incoming_webhook": "https://hooks.example/2",
            "sessionHandle": "fake-handle-1"}


@pytest.mark.parametrize("name", sorted(UNLISTED))
def test_unlisted_token_response_keys_are_not_kept_in_plaintext(name):
    """A key that is not known to be public is left out, whatever it is called."""
    assert public_info({name: UNLISTED[name], "scope": "read"}) == {"scope": "read"}


def test_oauth2_token_response_info_holds_only_listed_keys(fake):
    """The code exchange keeps scope, token type and instance URL -- never jwt & co."""
    fake.add("POST", f"{o2.BASE}/token", json_body=o2.token_json(
        instance_url="https://eu1.example", **UNLISTED))
    method, attempt = o2.make_method(), o2.new_attempt()
    method.begin(attempt)
    credentials = method.complete(attempt, {"code": "fake-code-1"})
    assert credentials.info == {"scope": "read write", "token_type": "Bearer",
                                "instance_url": "https://eu1.example"}
    assert not any(value in str(credentials.info) for value in UNLISTED.values())


def test_oauth1_access_token_response_info_holds_only_listed_keys(fake):
    """OAuth 1.0a: user id and screen name are kept; an unknown field is not."""
    method, attempt, _url = o1.begun(fake)
    fake.add("POST", f"{o1.BASE}/access_token",
             text=o1.ACCESS_TOKEN_BODY + "&credential=fake-credential-123&jwt=fake-jwt-1")
    credentials = method.complete(attempt, {"oauth_token": "fake-request-token",
                                            "oauth_verifier": "fake-verifier"})
    assert credentials.info == {"user_id": "42", "screen_name": "demo"}
