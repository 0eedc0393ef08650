"""SECURITY.md "Outbound requests": requests that carry a secret (token, refresh, revoke,
request token, access token) never follow a redirect; other GETs follow at most 3 checked
hops. A 307 keeps method and body, so following one would re-send the client secret and
the code to whatever host the provider (or whoever controls it) names."""

from __future__ import annotations

import pytest
import requests

from connectors import http
from connectors.auth.base import AuthError
from tests.connectors import test_auth_api_key_basic as keyed
from tests.connectors import test_auth_client_credentials as cc
from tests.connectors import test_auth_oauth1 as o1
from tests.connectors import test_auth_oauth2 as o2

ELSEWHERE = "https://elsewhere.localhost/collect"


def redirect(fake, method: str, url: str, status: int = 307) -> None:
    fake.add(method, url, status=status, headers={"Location": ELSEWHERE})
    fake.add(method, ELSEWHERE, json_body={"access_token": "fake-stolen"})


def assert_not_followed(fake, caught) -> None:
    assert fake.calls_to(ELSEWHERE) == []
    assert "redirect" in caught.value.message
    assert caught.value.kind == "token_error"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_authorization_code_token_request_does_not_follow_a_redirect(fake, status):
    """The code exchange answered with a redirect: an error, nothing sent elsewhere."""
    redirect(fake, "POST", f"{o2.BASE}/token", status)
    method, attempt = o2.make_method(), o2.new_attempt()
    method.begin(attempt)
    with pytest.raises(AuthError) as caught:
        method.complete(attempt, {"code": "fake-code-1"})
    assert_not_followed(fake, caught)


def test_refresh_request_does_not_follow_a_redirect(fake):
    """A refresh answered with 307: the refresh token and client secret stay put."""
    redirect(fake, "POST", f"{o2.BASE}/token")
    with pytest.raises(AuthError) as caught:
        o2.make_method().refresh({"refresh_token": "fake-refresh-1"})
    assert_not_followed(fake, caught)


def test_client_credentials_token_request_does_not_follow_a_redirect(fake):
    """The client credentials grant answered with 307: the secret is not re-sent."""
    redirect(fake, "POST", f"{cc.BASE}/token")
    with pytest.raises(AuthError) as caught:
        cc.make_method().complete(None, {})
    assert_not_followed(fake, caught)


def test_oauth1_request_token_request_does_not_follow_a_redirect(fake):
    """The OAuth 1.0a request token request answered with 307: not followed."""
    redirect(fake, "POST", f"{o1.BASE}/request_token")
    with pytest.raises(AuthError) as caught:
        o1.make_method().begin(o1.new_attempt())
    assert_not_followed(fake, caught)


def test_oauth1_access_token_request_does_not_follow_a_redirect(fake):
    """The OAuth 1.0a access token request answered with 307: not followed."""
    method, attempt, _url = o1.begun(fake)
    redirect(fake, "POST", f"{o1.BASE}/access_token")
    with pytest.raises(AuthError) as caught:
        method.complete(attempt, {"oauth_token": "fake-request-token",
                                  "oauth_verifier": "fake-verifier"})
    assert_not_followed(fake, caught)


def test_revocation_request_does_not_follow_a_redirect(fake):
    """An RFC 7009 revocation answered with 307: refused, the token not sent elsewhere."""
    redirect(fake, "POST", f"{o2.BASE}/revoke")
    with pytest.raises(AuthError):
        o2.make_method().revoke({"refresh_token": "fake-refresh-1"})
    assert fake.calls_to(ELSEWHERE) == []


def hops(fake, count: int) -> str:
    """A chain of `count` redirects ending at a 200; returns the first URL."""
    urls = [f"https://hop{n}.localhost/chain{count}" for n in range(count + 1)]
    for here, there in zip(urls, urls[1:], strict=False):
        fake.add("GET", here, status=302, headers={"Location": there})
    fake.add("GET", urls[-1], text="ok")
    return urls[0]


@pytest.mark.parametrize("session", [
    lambda: http.Session(),
    lambda: http.OAuth2(client_id="fake-client-id", token={"access_token": "fake-access-1",
                                                           "token_type": "Bearer"}),
    lambda: http.OAuth1("fake-consumer-key", client_secret="fake-consumer-secret-123"),
])
def test_session_gets_follow_three_redirects_and_no_more(fake, session):
    """Ordinary GETs (verify, API calls) still follow up to three hops, not four."""
    assert session().get(hops(fake, 3)).text == "ok"
    with pytest.raises(requests.TooManyRedirects):
        session().get(hops(fake, 4))


def test_a_session_follows_redirects_again_after_a_token_request(fake):
    """Redirects are off only while the token request runs, not for the session's life."""
    fake.add("POST", f"{o2.BASE}/token", json_body=o2.token_json())
    session = http.OAuth2(client_id="fake-client-id")
    session.fetch_token(f"{o2.BASE}/token", code="fake-code-1",
                        client_secret="fake-client-secret-123")
    assert session.get(hops(fake, 2)).text == "ok"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("kind", ["api_key", "basic", "oauth2"])
def test_verify_requests_do_not_follow_a_redirect(fake, status, kind):
    """A verify request carries the install's key, password or token: answered with a
    redirect it fails the check, and nothing is sent to where the redirect points."""
    if kind == "oauth2":
        method, url = o2.make_method(), f"{o2.BASE}/api/me"
        credentials = {"access_token": "fake-access-1", "token_type": "bearer"}
    else:
        fields = keyed.KEY_FIELD if kind == "api_key" else keyed.BASIC_FIELDS
        values = ({"api_key": keyed.API_KEY} if kind == "api_key" else
                  {"username": "ann@example.test", "password": "fake-password-1"})
        auth = {"type": "api_key", "header": "X-API-Key"} if kind == "api_key" else {
            "type": "basic"}
        method, url = keyed.make_method(auth, fields, values), f"{keyed.BASE}/api/me"
        credentials = method.complete(None, {}).data
    fake.add("GET", url, status=status, headers={"Location": ELSEWHERE})
    fake.add("GET", ELSEWHERE, json_body={"ok": True})
    with pytest.raises(AuthError) as caught:
        method.verify(credentials)
    assert caught.value.kind == "verify_failed"
    assert fake.calls_to(ELSEWHERE) == []
