"""The OAuth 2.0 authorization code method against a fake provider (canned responses)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from connectors.auth import AUTH_METHODS, build_method
from connectors.auth.base import (
    AuthError,
    ConsentDenied,
    Context,
    InvalidCallback,
    InvalidGrant,
    TransientError,
)
from connectors.auth.oauth2 import OAuth2
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from installs.models import AuthAttempt
from tests.fake_provider import FakeProvider, install_fake

BASE = "https://acme.provider.localhost"
CALLBACK = "http://testserver/connectors/callback"
CLIENT_SECRET = "fake-client-secret-123"


def oauth2_data(**auth: Any) -> dict[str, Any]:
    """Catalogue data; an auth key given as None is left out."""
    auth = {"type": "oauth2", "authorize_url": "https://{subdomain}.provider.localhost/authorize",
            "token_url": "https://{subdomain}.provider.localhost/token",
            "revoke_url": "https://{subdomain}.provider.localhost/revoke",
            "scopes": ["read", "write"], "authorize_params": {"prompt": "consent"}, **auth}
    return {
        "name": "Example OAuth", "description": "An OAuth 2.0 provider.",
        "auth": {key: value for key, value in auth.items() if value is not None},
        "api": {"base_url": "https://{subdomain}.provider.localhost/api", "verify": "GET /me"},
        "fields": [
            {"key": "client_id", "label": "Client ID"},
            {"key": "client_secret", "label": "Client Secret", "secret": True},
            {"key": "subdomain", "label": "Subdomain", "level": "account"},
        ],
    }


def make_method(values: dict[str, str] | None = None, **auth: Any) -> OAuth2:
    data = validate("example.toml", "example", oauth2_data(**auth))
    spec = ConnectorSpec.from_data("example", data)
    values = {"client_id": "fake-client-id", "client_secret": CLIENT_SECRET, "subdomain": "acme",
              **(values or {})}
    return build_method(Context(spec=spec, values=values, callback_url=CALLBACK))


def new_attempt() -> AuthAttempt:
    return AuthAttempt(session_hash="x", expires_at=timezone.now() + timedelta(minutes=10))


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def token_json(**extra: Any) -> dict[str, Any]:
    return {"access_token": "fake-access-1", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "fake-refresh-1", "scope": "read write", **extra}


def test_registry_maps_every_auth_type_to_a_method():
    """Every catalogue auth type has a method class of that type."""
    assert {name: cls.type for name, cls in AUTH_METHODS.items()} == {
        name: name for name in AUTH_METHODS}
    assert set(AUTH_METHODS) == {"oauth1", "oauth2", "oauth2_client_credentials", "api_key",
                                 "basic", "two_step", "jwt_bearer", "app_installation", "jwt",
                                 "none"}


def test_begin_builds_the_authorize_url_with_state_pkce_scopes_and_params():
    """The authorize URL carries state, an S256 challenge of the kept verifier, scopes, extras."""
    method, attempt = make_method(), new_attempt()
    url = method.begin(attempt)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/authorize"
    assert query["state"] == attempt.state
    assert query["response_type"] == "code"
    assert query["client_id"] == "fake-client-id"
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"] == "read write"
    assert query["prompt"] == "consent"
    verifier = attempt.secrets["code_verifier"]
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == expected.decode()
    assert query["code_challenge_method"] == "S256"
    assert verifier not in url
    assert CLIENT_SECRET not in url


def test_begin_without_pkce_and_with_a_custom_scope_separator():
    """`pkce = false` sends no challenge and keeps no verifier; scopes use the separator."""
    method, attempt = make_method(pkce=False, scope_separator=","), new_attempt()
    query = parse_qs(urlsplit(method.begin(attempt)).query)
    assert "code_challenge" not in query
    assert attempt.secrets == {}
    assert query["scope"] == ["read,write"]


def test_begin_refuses_an_unsafe_templated_value():
    """A subdomain that is not a plain host label never reaches a URL."""
    method = make_method({"subdomain": "evil.com/x"})
    with pytest.raises(AuthError) as caught:
        method.begin(new_attempt())
    assert caught.value.kind == "configuration"
    assert "evil" not in caught.value.message


def test_complete_exchanges_the_code_with_the_verifier_client_secret_post(fake):
    """The token request sends code, verifier and client secret in the body; credentials stored."""
    fake.add("POST", f"{BASE}/token", json_body=token_json(instance_url="https://eu1.example"))
    method, attempt = make_method(), new_attempt()
    method.begin(attempt)
    credentials = method.complete(attempt, {"code": "fake-code-1", "state": attempt.state,
                                            "realmId": "123"})
    form = fake.form(fake.calls_to(f"{BASE}/token")[0])
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == "fake-code-1"
    assert form["code_verifier"] == attempt.secrets["code_verifier"]
    assert form["redirect_uri"] == CALLBACK
    assert form["client_id"] == "fake-client-id"
    assert form["client_secret"] == CLIENT_SECRET
    assert credentials.data == {"access_token": "fake-access-1", "refresh_token": "fake-refresh-1",
                                "token_type": "Bearer", "scope": "read write"}
    assert timedelta(minutes=59) < credentials.expires_at - timezone.now() <= timedelta(hours=1)
    assert credentials.info == {"scope": "read write", "token_type": "Bearer",
                                "instance_url": "https://eu1.example", "realmId": "123"}


def test_complete_with_client_secret_basic_uses_the_authorization_header(fake):
    """token_auth = client_secret_basic: credentials in the header, not the body."""
    fake.add("POST", f"{BASE}/token", json_body=token_json())
    method, attempt = make_method(token_auth="client_secret_basic"), new_attempt()
    method.begin(attempt)
    method.complete(attempt, {"code": "fake-code-1"})
    request = fake.calls_to(f"{BASE}/token")[0]
    expected = base64.b64encode(f"fake-client-id:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in fake.form(request)


def test_complete_narrowed_scope_is_recorded_as_granted(fake):
    """A provider granting fewer scopes than asked: the granted ones are stored."""
    fake.add("POST", f"{BASE}/token", json_body=token_json(scope="read"))
    method, attempt = make_method(), new_attempt()
    method.begin(attempt)
    credentials = method.complete(attempt, {"code": "fake-code-1"})
    assert credentials.data["scope"] == "read"
    assert credentials.info["scope"] == "read"


@pytest.mark.parametrize("params, error_type, kind", [
    ({"error": "access_denied"}, ConsentDenied, "denied"),
    ({"error": "temporarily_unavailable"}, TransientError, "provider_error"),
    ({"error": "server_error"}, TransientError, "provider_error"),
    ({"error": "invalid_scope", "error_description": "<b>bad</b>"}, AuthError, "provider_error"),
    ({}, InvalidCallback, "invalid_callback"),
])
def test_complete_maps_callback_errors_without_a_token_request(fake, params, error_type, kind):
    """Provider errors and a missing code fail before any token request."""
    method, attempt = make_method(), new_attempt()
    method.begin(attempt)
    with pytest.raises(error_type) as caught:
        method.complete(attempt, params)
    assert caught.value.kind == kind
    assert fake.calls == []


def test_complete_without_the_kept_verifier_is_refused(fake):
    """A PKCE attempt whose verifier is gone cannot be completed."""
    method, attempt = make_method(), new_attempt()
    method.begin(attempt)
    attempt.secrets = {}
    with pytest.raises(InvalidCallback):
        method.complete(attempt, {"code": "fake-code-1"})
    assert fake.calls == []


@pytest.mark.parametrize("canned, error_type, kind", [
    ({"status": 400, "json_body": {"error": "invalid_grant"}}, InvalidGrant, "invalid_grant"),
    ({"status": 401, "json_body": {"error": "invalid_client"}}, AuthError, "token_error"),
    ({"status": 503, "text": "down", "headers": {"Retry-After": "30"}}, TransientError,
     "unavailable"),
    ({"status": 429, "text": ""}, TransientError, "unavailable"),
    ({"status": 200, "text": "<html>not json</html>"}, AuthError, "token_error"),
    ({"status": 200, "json_body": {"token_type": "Bearer"}}, AuthError, "token_error"),
    ({"status": 200, "json_body": {"error": "invalid_request"}}, AuthError, "token_error"),
    ({"raises": requests.Timeout("slow")}, TransientError, "timeout"),
    ({"raises": requests.ConnectionError("refused")}, TransientError, "unavailable"),
])
def test_token_endpoint_failures_become_safe_errors(fake, canned, error_type, kind):
    """invalid_grant, 4xx, 5xx, 429, non-JSON, no access_token, timeouts: a clear AuthError."""
    fake.add("POST", f"{BASE}/token", **canned)
    method, attempt = make_method(), new_attempt()
    method.begin(attempt)
    with pytest.raises(error_type) as caught:
        method.complete(attempt, {"code": "fake-code-1"})
    assert caught.value.kind == kind
    assert CLIENT_SECRET not in caught.value.message
    assert "fake-code-1" not in caught.value.message


def test_retry_after_is_passed_on(fake):
    """A 503 with Retry-After tells the caller when to retry."""
    fake.add("POST", f"{BASE}/token", status=503, headers={"Retry-After": "120"})
    with pytest.raises(TransientError) as caught:
        make_method().refresh({"refresh_token": "fake-refresh-1"})
    assert caught.value.retry_after == 120


def test_refresh_sends_the_refresh_token_and_keeps_it_when_none_is_returned(fake):
    """RFC 6749 §6: a response without a refresh_token keeps the old one."""
    fake.add("POST", f"{BASE}/token", json_body={"access_token": "fake-access-2",
                                                 "token_type": "Bearer", "expires_in": 60})
    credentials = make_method().refresh({"access_token": "fake-access-1",
                                         "refresh_token": "fake-refresh-1", "scope": "read"})
    form = fake.form(fake.calls[0])
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "fake-refresh-1"
    assert form["client_secret"] == CLIENT_SECRET
    assert credentials.data["access_token"] == "fake-access-2"
    assert credentials.data["refresh_token"] == "fake-refresh-1"
    assert credentials.data["scope"] == "read"


def test_refresh_stores_a_rotated_refresh_token(fake):
    """A provider rotating refresh tokens: the new one replaces the old."""
    fake.add("POST", f"{BASE}/token", json_body=token_json(refresh_token="fake-refresh-2"))
    credentials = make_method().refresh({"refresh_token": "fake-refresh-1"})
    assert credentials.data["refresh_token"] == "fake-refresh-2"


@pytest.mark.parametrize("status", [400, 401])
def test_refresh_rejections_without_invalid_grant_are_transient(fake, status):
    """Issue 19 item 7: a 400/401 that does not say the grant is invalid is a fault to retry,
    not a reason to ask the customer to consent again."""
    fake.add("POST", f"{BASE}/token", status=status, text="")
    with pytest.raises(TransientError):
        make_method().refresh({"refresh_token": "fake-refresh-1"})


@pytest.mark.parametrize("status", [200, 400, 401])
def test_refresh_invalid_grant_is_invalid_grant_whatever_the_status(fake, status):
    """RFC 6749 §5.2's invalid_grant means re-consent, also in a 200 (Slack-style) answer."""
    fake.add("POST", f"{BASE}/token", status=status, json_body={"error": "invalid_grant"})
    with pytest.raises(InvalidGrant):
        make_method().refresh({"refresh_token": "fake-refresh-1"})


def test_refresh_a_declared_equivalent_of_invalid_grant_is_invalid_grant(fake):
    """A provider's own code for a dead grant, declared in `invalid_grant_errors`, is one."""
    fake.add("POST", f"{BASE}/token", status=400, json_body={"error": "invalid_refresh_token"})
    with pytest.raises(TransientError):
        make_method().refresh({"refresh_token": "fake-refresh-1"})
    with pytest.raises(InvalidGrant):
        make_method(invalid_grant_errors=["invalid_refresh_token"]).refresh(
            {"refresh_token": "fake-refresh-1"})


@pytest.mark.parametrize("canned", [
    {"status": 200, "text": "<html>not json</html>"},
    {"status": 200, "json_body": {"token_type": "Bearer"}},
    {"status": 200, "json_body": {"access_token": "a", "token_type": "weird"}},
    {"status": 302, "headers": {"Location": "https://elsewhere.localhost/"}},
    {"status": 304, "text": ""},
    {"raises": requests.exceptions.ChunkedEncodingError("reset")},
])
def test_refresh_faults_are_transient(fake, canned):
    """Item 7: garbage, no token, an odd token type, a 3xx, a reset mid-body: TransientError."""
    fake.add("POST", f"{BASE}/token", **canned)
    with pytest.raises(TransientError):
        make_method().refresh({"refresh_token": "fake-refresh-1"})


def test_refresh_configuration_problems_stay_permanent(fake):
    """A token URL that cannot be built is the install's configuration, not a passing fault."""
    method = make_method({"subdomain": "evil.example/x?"})
    with pytest.raises(AuthError) as caught:
        method.refresh({"refresh_token": "fake-refresh-1"})
    assert not isinstance(caught.value, TransientError)
    assert caught.value.kind == "configuration"


@pytest.mark.parametrize("token", [{"access_token": "a" * (16 * 1024 + 1)},
                                   {"refresh_token": "r\nX-Evil: 1"},
                                   {"access_token": "a\x00b"},
                                   {"access_token": "ok", "token_type": "MAC"}])
def test_sign_in_refuses_a_hostile_token_response(fake, token):
    """Item 8: at sign-in too, an oversized or control-character token or an unusable token
    type stores nothing: a token error, whose message holds no token."""
    fake.add("POST", f"{BASE}/token", json_body={**token_json(), **token})
    method, attempt = make_method(), new_attempt()
    method.begin(attempt)
    with pytest.raises(AuthError) as caught:
        method.complete(attempt, {"code": "fake-code-1"})
    assert caught.value.kind == "token_error"
    assert "aaaa" not in caught.value.message and "Evil" not in caught.value.message


def test_refresh_without_a_refresh_token_is_invalid_grant(fake):
    """Nothing to refresh with: reauthentication is needed, and no request is made."""
    with pytest.raises(InvalidGrant):
        make_method().refresh({"access_token": "fake-access-1"})
    assert fake.calls == []


def test_revoke_sends_the_refresh_token_with_a_hint(fake):
    """RFC 7009: the refresh token, token_type_hint and client authentication."""
    fake.add("POST", f"{BASE}/revoke", status=200)
    make_method().revoke({"access_token": "fake-access-1", "refresh_token": "fake-refresh-1"})
    form = fake.form(fake.calls[0])
    assert form == {"token": "fake-refresh-1", "token_type_hint": "refresh_token",
                    "client_id": "fake-client-id", "client_secret": CLIENT_SECRET}


def test_revoke_failure_is_reported(fake):
    """A 503 from the revocation endpoint is a TransientError."""
    fake.add("POST", f"{BASE}/revoke", status=503)
    with pytest.raises(TransientError):
        make_method().revoke({"access_token": "fake-access-1"})


def test_revoke_without_revoke_url_does_nothing(fake):
    """No revoke_url: nothing to call."""
    make_method(revoke_url=None).revoke({"access_token": "fake-access-1"})
    assert fake.calls == []


def test_session_and_verify_use_the_bearer_token(fake):
    """The authorised session sends the access token; verify accepts a 200."""
    fake.add("GET", f"{BASE}/api/me", json_body={"id": 1})
    make_method().verify({"access_token": "fake-access-1", "token_type": "bearer"})
    assert fake.calls[0].headers["Authorization"] == "Bearer fake-access-1"


def test_verify_rejection_names_what_was_rejected(fake):
    """A 401 from the verify request: the access token was rejected."""
    fake.add("GET", f"{BASE}/api/me", status=401)
    with pytest.raises(AuthError) as caught:
        make_method().verify({"access_token": "fake-access-1"})
    assert caught.value.message == "The access token was rejected (HTTP 401)."
    assert caught.value.kind == "verify_failed"


def test_can_refresh_only_with_a_refresh_token():
    """can_refresh is True for credentials holding a refresh token."""
    method = make_method()
    assert method.can_refresh({}) is False
    assert method.can_refresh({"access_token": "fake-access-1"}) is False
    assert method.can_refresh({"refresh_token": "fake-refresh-1"}) is True


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER"])
def test_a_bearer_token_is_sent_as_rfc_6750_says(fake, token_type):
    """Set once on a guarded session (no oauthlib per request): `Authorization: Bearer`."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    session = make_method().session({"access_token": "fake-access-1", "token_type": token_type})
    assert session.get(f"{BASE}/api/me").status_code == 200
    assert fake.header(fake.calls[-1], "Authorization") == "Bearer fake-access-1"


def test_a_bearer_session_refuses_plain_http_to_a_public_host(fake):
    from connectors.http import UnsafeURL

    session = make_method().session({"access_token": "fake-access-1", "token_type": "Bearer"})
    with pytest.raises(UnsafeURL):
        session.get("http://api.example.com/me")
    assert fake.calls == []
