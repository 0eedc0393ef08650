"""The OAuth 1.0a method against a fake provider (canned responses)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from connectors.auth import build_method
from connectors.auth.base import AuthError, ConsentDenied, Context, InvalidCallback, TransientError
from connectors.auth.oauth1 import OAuth1
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from installs.models import AuthAttempt
from tests.fake_provider import FakeProvider, install_fake

BASE = "https://provider.localhost"
CALLBACK = "http://testserver/connectors/callback"
CONSUMER_SECRET = "fake-consumer-secret-123"
REQUEST_TOKEN_BODY = ("oauth_token=fake-request-token&oauth_token_secret=fake-rt-secret"
                      "&oauth_callback_confirmed=true")
ACCESS_TOKEN_BODY = ("oauth_token=fake-access-token&oauth_token_secret=fake-at-secret"
                     "&user_id=42&screen_name=demo")

DATA: dict[str, Any] = {
    "name": "Example OAuth1", "description": "An OAuth 1.0a provider.",
    "auth": {"type": "oauth1", "request_token_url": f"{BASE}/request_token",
             "authorize_url": f"{BASE}/authorize", "access_token_url": f"{BASE}/access_token",
             "authorize_params": {"name": "Acme"}},
    "api": {"base_url": f"{BASE}/api", "verify": "GET /me"},
    "fields": [{"key": "consumer_key", "label": "Consumer Key"},
               {"key": "consumer_secret", "label": "Consumer Secret", "secret": True}],
}


def make_method() -> OAuth1:
    spec = ConnectorSpec.from_data("example1", validate("example1.toml", "example1", DATA))
    values = {"consumer_key": "fake-consumer-key", "consumer_secret": CONSUMER_SECRET}
    return build_method(Context(spec=spec, values=values, callback_url=CALLBACK))


def new_attempt() -> AuthAttempt:
    return AuthAttempt(session_hash="x", expires_at=timezone.now() + timedelta(minutes=10))


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def begun(fake: FakeProvider) -> tuple[OAuth1, AuthAttempt, str]:
    fake.add("POST", f"{BASE}/request_token", text=REQUEST_TOKEN_BODY)
    method, attempt = make_method(), new_attempt()
    return method, attempt, method.begin(attempt)


def test_begin_gets_a_request_token_with_the_state_on_the_callback(fake):
    """The signed request token request carries oauth_callback = callback?state=…"""
    method, attempt, url = begun(fake)
    header = fake.header(fake.calls[0], "Authorization")
    assert header.startswith("OAuth ")
    assert 'oauth_consumer_key="fake-consumer-key"' in header
    assert f"oauth_callback=\"{CALLBACK.replace(':', '%3A').replace('/', '%2F')}" in header
    assert f"state%3D{attempt.state}" in header
    assert CONSUMER_SECRET not in header
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{BASE}/authorize?")
    assert query["oauth_token"] == ["fake-request-token"]
    assert query["name"] == ["Acme"]
    assert attempt.request_token == "fake-request-token"
    assert attempt.secrets == {"request_token_secret": "fake-rt-secret"}
    assert "fake-rt-secret" not in url


@pytest.mark.parametrize("body", [
    "oauth_token=t&oauth_token_secret=s",
    "oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=false",
])
def test_begin_aborts_unless_the_callback_is_confirmed(fake, body):
    """oauth_callback_confirmed must be "true" (RFC 5849 §2.1), else the flow stops."""
    fake.add("POST", f"{BASE}/request_token", text=body)
    attempt = new_attempt()
    with pytest.raises(AuthError) as caught:
        make_method().begin(attempt)
    assert "oauth_callback_confirmed" in caught.value.message
    assert attempt.secrets == {}


@pytest.mark.parametrize("canned, error_type", [
    ({"status": 401, "text": "oauth_problem=consumer_key_rejected"}, AuthError),
    ({"status": 503, "text": "down"}, TransientError),
    ({"status": 200, "text": "not a token"}, AuthError),
    ({"raises": requests.Timeout("slow")}, TransientError),
])
def test_begin_request_token_failures(fake, canned, error_type):
    """A refused, failing or unreadable request token response is a safe AuthError."""
    fake.add("POST", f"{BASE}/request_token", **canned)
    with pytest.raises(error_type) as caught:
        make_method().begin(new_attempt())
    assert CONSUMER_SECRET not in caught.value.message
    assert "oauth_problem" not in caught.value.message


def test_complete_exchanges_the_verifier_for_an_access_token(fake):
    """The access token request is signed with the request token and carries the verifier."""
    method, attempt, _url = begun(fake)
    fake.add("POST", f"{BASE}/access_token", text=ACCESS_TOKEN_BODY)
    credentials = method.complete(attempt, {"oauth_token": "fake-request-token",
                                            "oauth_verifier": "fake-verifier", "state": "s"})
    header = fake.header(fake.calls_to(f"{BASE}/access_token")[0], "Authorization")
    assert 'oauth_token="fake-request-token"' in header
    assert 'oauth_verifier="fake-verifier"' in header
    assert credentials.data == {"oauth_token": "fake-access-token",
                                "oauth_token_secret": "fake-at-secret"}
    assert credentials.info == {"user_id": "42", "screen_name": "demo"}


def test_complete_refuses_another_request_token(fake):
    """oauth_token not the one issued to this attempt: rejected, no exchange."""
    method, attempt, _url = begun(fake)
    with pytest.raises(InvalidCallback):
        method.complete(attempt, {"oauth_token": "someone-elses", "oauth_verifier": "v"})
    assert fake.calls_to(f"{BASE}/access_token") == []


def test_complete_requires_the_verifier(fake):
    """No oauth_verifier: InvalidCallback (a 400), no exchange."""
    method, attempt, _url = begun(fake)
    with pytest.raises(InvalidCallback):
        method.complete(attempt, {"oauth_token": "fake-request-token"})
    assert fake.calls_to(f"{BASE}/access_token") == []


def test_complete_denied_is_a_cancellation(fake):
    """`denied=…` on the callback: the person cancelled."""
    method, attempt, _url = begun(fake)
    with pytest.raises(ConsentDenied):
        method.complete(attempt, {"denied": "fake-request-token"})


@pytest.mark.parametrize("canned", [
    {"status": 401, "text": "oauth_problem=token_rejected"},
    {"status": 200, "text": "oauth_token_secret=only"},
    {"status": 502, "text": ""},
])
def test_complete_access_token_failures(fake, canned):
    """A failing access token exchange raises a safe AuthError."""
    method, attempt, _url = begun(fake)
    fake.add("POST", f"{BASE}/access_token", **canned)
    with pytest.raises(AuthError) as caught:
        method.complete(attempt, {"oauth_token": "fake-request-token", "oauth_verifier": "v"})
    assert "fake-rt-secret" not in caught.value.message


@pytest.mark.parametrize("body", ["oauth_token=" + "a" * (16 * 1024 + 1) + "&oauth_token_secret=s",
                                  "oauth_token=t&oauth_token_secret=s%0D%0AX-Evil%3A1"])
def test_complete_refuses_a_hostile_access_token(fake, body):
    """Issue 19 item 8: a token over 16 KB or with CR/LF is refused before it is stored."""
    method, attempt, _url = begun(fake)
    fake.add("POST", f"{BASE}/access_token", text=body)
    with pytest.raises(AuthError) as caught:
        method.complete(attempt, {"oauth_token": "fake-request-token", "oauth_verifier": "v"})
    assert caught.value.kind == "token_error"
    assert "aaaa" not in caught.value.message and "Evil" not in caught.value.message


def test_session_signs_api_requests_and_verify_reports_rejection(fake):
    """The authorised session signs with the access token; a 401 names the access token."""
    fake.add("GET", f"{BASE}/api/me", status=401)
    with pytest.raises(AuthError) as caught:
        make_method().verify({"oauth_token": "fake-access-token",
                              "oauth_token_secret": "fake-at-secret"})
    header = fake.header(fake.calls[0], "Authorization")
    assert 'oauth_token="fake-access-token"' in header
    assert "fake-at-secret" not in header
    assert caught.value.message == "The access token was rejected (HTTP 401)."
