"""`forward`, the proxy's send: a plain session prepares the request itself and hands it
straight to the adapter (connectors/http.py). What reaches the provider is exactly what
requests' own `Session.request` sends, and the guards of every send still apply."""

from __future__ import annotations

import time

import pytest
import requests

from connectors import http
from tests.fake_provider import HOST, install_fake
from tests.slow_server import Script, slow_server

URL = f"{HOST}/v1/items?page=2"


def wire(request: requests.PreparedRequest) -> tuple[object, ...]:
    """What a provider receives: method, URL, headers (in order) and body."""
    return request.method, request.url, list(request.headers.items()), request.body


def plain(**settings: object) -> http.Session:
    session = http.Session()
    session.headers["Authorization"] = "Bearer fake-token-fwd"
    session.headers["Accept-Encoding"] = "identity"
    for name, value in settings.items():
        setattr(session, name, value)
    return session


@pytest.mark.parametrize(("session_settings", "verb", "body"), [
    ({}, "GET", None),
    ({}, "post", b'{"name": "fake"}'),
    ({"params": {"api_key": "fake-key-fwd"}}, "GET", None),
    ({"auth": ("fake-user", "fake-password")}, "DELETE", None),
], ids=["bearer", "body", "query-key", "basic"])
def test_a_plain_session_sends_what_requests_would(monkeypatch, session_settings, verb, body):
    provider = install_fake(monkeypatch)
    caller = {"Accept": "application/json", "X-Request-Id": "fake-req-1"}
    plain(**session_settings).request(verb, URL, data=body, headers=caller, stream=True,
                                      allow_redirects=False)
    plain(**session_settings).forward(verb, URL, headers=caller, body=body)
    by_requests, forwarded = provider.calls
    assert wire(forwarded) == wire(by_requests)
    assert forwarded.method == verb.upper()


def test_the_callers_header_may_replace_a_session_header(monkeypatch):
    """As in requests: the request's headers win over the session's, case-insensitively."""
    provider = install_fake(monkeypatch)
    plain().forward("GET", URL, headers={"accept-encoding": "gzip"}, body=None)
    assert provider.header(provider.calls[0], "Accept-Encoding") == "gzip"


def test_a_session_with_cookies_or_hooks_takes_requests_path(monkeypatch):
    """Only requests' path sends the jar's cookies and calls response hooks."""
    provider = install_fake(monkeypatch)
    provider.add("GET", f"{HOST}/v1/items", text="ok")
    seen = []
    session = plain()
    session.cookies.set("session", "fake-cookie", domain="provider.localhost")
    session.hooks["response"].append(lambda response, **kwargs: seen.append(response.status_code))
    session.forward("GET", URL, headers={}, body=None)
    assert provider.header(provider.calls[0], "Cookie") == "session=fake-cookie"
    assert seen == [200]


def test_a_redirect_is_returned_not_followed(monkeypatch):
    provider = install_fake(monkeypatch)
    provider.add("GET", f"{HOST}/v1/items", status=302,
                 headers={"Location": f"{HOST}/elsewhere"})
    response = plain().forward("GET", URL, headers={}, body=None)
    assert response.status_code == 302
    assert [call.url for call in provider.calls] == [URL]


def test_an_address_the_server_may_not_call_is_refused_before_sending(monkeypatch, settings):
    settings.ALLOW_LOCAL_PROVIDERS = False
    provider = install_fake(monkeypatch)
    for url in ("http://api.example.com/v1", "https://127.0.0.1/v1",
                "https://user:pw@api.example.com/v1", "ftp://api.example.com/v1"):
        with pytest.raises(http.UnsafeURL):
            plain().forward("GET", url, headers={}, body=None)
    assert provider.calls == []


def test_a_header_that_could_end_its_line_is_refused(monkeypatch):
    provider = install_fake(monkeypatch)
    with pytest.raises(requests.exceptions.InvalidHeader):
        plain().forward("GET", URL, headers={"X-Evil": "a\r\nHost: elsewhere"}, body=None)
    assert provider.calls == []


def test_the_answer_is_cut_off_at_the_outbound_deadline(monkeypatch, settings):
    """Through the real pinned adapter: a provider trickling its body is cut off once
    OUTBOUND_TIMEOUT has passed in all, though each byte comes well within it."""
    settings.ALLOW_LOCAL_PROVIDERS = True
    settings.OUTBOUND_TIMEOUT = 1
    monkeypatch.setattr(http, "transport", http.default_transport)
    body = b'{"pad": "' + b"x" * 300 + b'"}'
    with slow_server(Script(body=body, drip_body=True, pause=0.05)) as base:
        started = time.monotonic()
        response = plain().forward("GET", f"{base}/me", headers={}, body=None)
        with pytest.raises(requests.RequestException):
            b"".join(response.iter_content(1024))
        assert http.past_deadline(response)
    assert time.monotonic() - started < 3  # the provider would take 15 s or more


def test_an_oauth1_session_signs_what_it_forwards(monkeypatch):
    """A signed session takes requests' path: OAuth1Session's auth signs each request."""
    provider = install_fake(monkeypatch)
    session = http.OAuth1(client_key="fake-consumer-key", client_secret="fake-consumer-secret",
                          resource_owner_key="fake-token", resource_owner_secret="fake-secret")
    session.forward("GET", URL, headers={"Accept": "application/json"}, body=None)
    authorization = provider.header(provider.calls[0], "Authorization")
    assert authorization.startswith("OAuth ")
    assert 'oauth_token="fake-token"' in authorization and "oauth_signature=" in authorization
