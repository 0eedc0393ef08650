"""The authenticated proxy: what is forwarded and returned, and every refusal's status."""

from __future__ import annotations

import pytest
import requests
from django.utils import timezone

from accounts.models import Account
from api.models import Scope
from installs.models import Install
from tests.api.helpers import bearer, make_key
from tests.factories import make_connector, save_settings
from tests.fake_provider import HOST, install_fake

BASE = f"{HOST}/v1"
KEY = "fake-provider-key-sec-987"


@pytest.fixture
def provider(monkeypatch):
    return install_fake(monkeypatch)


@pytest.fixture
def install(partner) -> Install:
    connector = make_connector("fake-api", {
        "name": "Fake API", "description": "A fake API-key provider.",
        "auth": {"type": "api_key", "header": "X-API-Key"},
        "api": {"base_url": BASE, "headers": {"Accept": "application/json",
                                              "X-Api-Version": "2"}},
        "fields": [{"key": "api_key", "label": "API key", "level": "account",
                    "secret": True}],
    })
    save_settings(partner, connector)
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    return Install.objects.create(account=account, connector=connector,
                                  status=Install.Status.AUTHENTICATED,
                                  credentials={"api_key": KEY}, authenticated_at=timezone.now())


@pytest.fixture
def proxy(partner):
    return bearer(make_key(partner, Scope.PROXY)[1])


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_forwards_with_the_install_key_and_returns_the_answer(proxy, install, provider):
    """Method, path, query, body and content type pass; the install's key is applied; the
    answer's status, body and safe headers come back without Set-Cookie."""
    provider.add("POST", f"{BASE}/tickets/7/notes", status=201, json_body={"id": 3},
                 headers={"Set-Cookie": "session=fake", "X-Request-Id": "r-1",
                          "Connection": "close", "Content-Length": "9"})
    response = proxy.post(f"/api/v1/proxy/{install.pk}/tickets/7/notes?notify=1&x=a%20b",
                          '{"text": "hi"}', content_type="application/json",
                          headers={"X-Trace": "t-1", "Cookie": "console=fake",
                                   "X-API-Key": "caller-chosen"})
    assert response.status_code == 201 and body_of(response) == b'{"id": 3}'
    assert response.get("X-Request-Id") != "r-1" and "Set-Cookie" not in response
    sent = provider.calls[-1]
    assert sent.url == f"{BASE}/tickets/7/notes?notify=1&x=a%20b"
    assert sent.body == b'{"text": "hi"}' and sent.headers["Content-Type"] == "application/json"
    assert sent.headers["X-API-Key"] == KEY  # the install's, not the caller's
    assert sent.headers["X-Api-Version"] == "2" and sent.headers["X-Trace"] == "t-1"
    for name in ("Authorization", "Cookie"):
        assert name not in sent.headers
    assert not response.cookies


@pytest.mark.parametrize("path", [
    "../admin", "a/../../admin", "a/./b", "%2e%2e/admin", "%252e%252e/admin", "a%2f..%2fb",
    "a//b", "https://evil.example/x", "https:evil.example", "a\\..\\b", "a%5c..", "me%3Fx=1",
    "me%23frag", "%2F%2Fevil.example/x",
])
def test_paths_that_leave_the_base_url_are_400(proxy, install, provider, path):
    """Traversal, `//`, absolute URLs and their encoded variants: 400, nothing sent."""
    response = proxy.get(f"/api/v1/proxy/{install.pk}/{path}")
    assert response.status_code == 400, path
    assert response.json()["type"] == "urn:hatchway:problem:unsafe_path"
    assert provider.calls == []


def test_header_injection_is_refused(proxy, install, provider):
    """A header value with a line break is refused (400), never sent on."""
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me",
                         headers={"X-Evil": "a\r\nX-Injected: 1"})
    assert response.status_code == 400 and provider.calls == []


def test_oversize_request_body_is_413(proxy, install, provider, settings):
    """A body over PROXY_MAX_BODY: 413 before it is read."""
    settings.PROXY_MAX_BODY = 1024
    response = proxy.post(f"/api/v1/proxy/{install.pk}/upload", b"x" * 2048,
                          content_type="application/octet-stream")
    assert response.status_code == 413 and provider.calls == []


def test_chunked_request_body_is_411(proxy, install, provider):
    """A body without Content-Length (chunked) is refused, not forwarded empty."""
    response = proxy.generic("POST", f"/api/v1/proxy/{install.pk}/upload", b"",
                             headers={"Transfer-Encoding": "chunked"})
    assert response.status_code == 411 and provider.calls == []


def test_proxy_body_limit_is_its_own(proxy, install, provider, settings):
    """The proxy takes bodies over MAX_REQUEST_BODY (the console's limit) up to its own."""
    settings.MAX_REQUEST_BODY = 1024
    provider.add("PUT", f"{BASE}/files/1", status=204)
    response = proxy.put(f"/api/v1/proxy/{install.pk}/files/1", b"x" * 4096,
                         content_type="application/octet-stream")
    assert response.status_code == 204 and len(provider.calls[-1].body) == 4096


def test_multipart_bodies_pass_through_unparsed(proxy, install, provider):
    """A multipart upload is forwarded byte for byte (not parsed, not refused)."""
    provider.add("POST", f"{BASE}/attachments", status=201)
    body = (b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\n"
            b"hello\r\n--b--\r\n")
    response = proxy.post(f"/api/v1/proxy/{install.pk}/attachments", body,
                          content_type="multipart/form-data; boundary=b")
    assert response.status_code == 201 and provider.calls[-1].body == body


@pytest.mark.parametrize("declared", [True, False])
def test_oversize_answer_is_413(proxy, install, provider, settings, declared):
    """An answer over PROXY_MAX_BODY, with or without Content-Length: 413."""
    settings.PROXY_MAX_BODY = 1024
    headers = {"Content-Length": "4096"} if declared else {}
    provider.add("GET", f"{BASE}/export", text=b"y" * 4096, headers=headers)
    response = proxy.get(f"/api/v1/proxy/{install.pk}/export")
    assert response.status_code == 413
    assert response.json()["type"] == "urn:hatchway:problem:response_too_large"


@pytest.mark.parametrize(("raised", "status"), [
    (requests.ReadTimeout("slow"), 504), (requests.ConnectTimeout("slow"), 504),
    (requests.ConnectionError("refused"), 502),
])
def test_timeouts_and_unreachable(proxy, install, provider, raised, status):
    """A provider timeout is 504, an unreachable provider 502 (problem details)."""
    provider.add("GET", f"{BASE}/me", raises=raised)
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("status", [500, 503])
def test_provider_5xx_passes_through(proxy, install, provider, status):
    """The provider's own 5xx is its answer, returned as it is."""
    provider.add("GET", f"{BASE}/me", status=status, text="upstream broke")
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == status and body_of(response) == b"upstream broke"


def test_provider_429_passes_through_with_retry_after(proxy, install, provider):
    """A provider 429 comes back with its Retry-After."""
    provider.add("GET", f"{BASE}/me", status=429, headers={"Retry-After": "30"})
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 429 and response["Retry-After"] == "30"


def test_redirects_are_returned_not_followed(proxy, install, provider):
    """A 302 comes back to the caller: following it would carry the key elsewhere."""
    provider.add("GET", f"{BASE}/me", status=302,
                 headers={"Location": "https://elsewhere.localhost/x"})
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 302 and len(provider.calls) == 1


def test_a_401_without_a_refreshable_token_is_returned(proxy, install, provider):
    """An API key cannot be refreshed: the provider's 401 is returned, the install kept."""
    provider.add("GET", f"{BASE}/me", status=401, text="bad key")
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 401 and len(provider.calls) == 1
    assert Install.objects.get(pk=install.pk).status == Install.Status.AUTHENTICATED


@pytest.mark.parametrize("status", [Install.Status.PENDING, Install.Status.REAUTH_REQUIRED,
                                    Install.Status.DEAUTHENTICATED])
def test_install_not_authenticated_is_409(proxy, install, provider, status):
    """An install without working credentials: 409 with its status, nothing sent."""
    Install.objects.filter(pk=install.pk).update(status=status)
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 409 and response.json()["install_status"] == status
    assert provider.calls == []


def test_private_base_url_is_refused_by_the_ssrf_guard(proxy, install, provider, settings):
    """A base URL on a private address is never called (502), whatever the install."""
    settings.ALLOW_LOCAL_PROVIDERS = False
    install.connector.spec_data["api"]["base_url"] = "https://10.0.0.1/v1"
    install.connector.save()
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 502 and provider.calls == []


HOSTILE_HEADERS = {
    "Content-Security-Policy": "default-src *", "X-Frame-Options": "ALLOWALL",
    "Strict-Transport-Security": "max-age=0", "Clear-Site-Data": '"*"',
    "Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=3600",
    "X-Request-Id": "r-1", "Set-Cookie": "session=fake", "Refresh": "0; url=https://evil",
}
KEPT_HEADERS = {
    "Content-Type": "application/json", "ETag": '"v1"',
    "Last-Modified": "Mon, 07 Dec 2026 10:00:00 GMT", "Link": '<https://x>; rel="next"',
    "Retry-After": "30", "RateLimit-Remaining": "9", "RateLimit-Policy": "10;w=60",
    "X-RateLimit-Limit": "100", "X-RateLimit-Reset": "1700000000",
}


def test_only_allowlisted_provider_headers_come_back(proxy, install, provider):
    """The provider's content and caching metadata, Retry-After and rate-limit headers come
    back; its CSP, framing, HSTS, Clear-Site-Data, CORS, caching and any other header do
    not (they would be served on the console's origin), and the answer is no-store."""
    provider.add("GET", f"{BASE}/me", json_body={"ok": True},
                 headers={**HOSTILE_HEADERS, **KEPT_HEADERS})
    response = proxy.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 200
    for name, value in KEPT_HEADERS.items():
        assert response[name] == value, name
    for name, value in HOSTILE_HEADERS.items():
        assert response.get(name) != value, (name, response.get(name))
    assert response["Cache-Control"] == "no-store"
    assert "max-age=0" not in str(response.items())


def test_location_comes_back_on_redirects_only(proxy, install, provider):
    """Location is the provider's redirect target on a 3xx, and dropped on any other status
    (a 201's Location names the provider's URL, not one under the proxy)."""
    provider.add("GET", f"{BASE}/moved", status=301,
                 headers={"Location": f"{BASE}/new"})
    provider.add("POST", f"{BASE}/things", status=201, headers={"Location": f"{BASE}/t/1"})
    assert proxy.get(f"/api/v1/proxy/{install.pk}/moved")["Location"] == f"{BASE}/new"
    created = proxy.post(f"/api/v1/proxy/{install.pk}/things", "{}",
                         content_type="application/json")
    assert created.status_code == 201 and "Location" not in created
