"""SECURITY.md "Partner authentication settings form" (endpoint URLs, SSRF): what the
server refuses to call, with local providers NOT allowed (production)."""

from __future__ import annotations

import pytest

from connectors import http
from tests.fake_provider import install_fake

PUBLIC = "https://93.184.216.34/token"  # an IP literal: resolves without DNS


@pytest.fixture
def production(settings):
    settings.ALLOW_LOCAL_PROVIDERS = False


@pytest.mark.parametrize("url", [
    "http://93.184.216.34/token",                 # plain http
    "https://user:pass@93.184.216.34/token",      # userinfo
    "https://user@93.184.216.34/token",
    "https://localhost/token",
    "https://localhost./token",                   # trailing dot
    "https://testserver/token",
    "https://127.0.0.1/token",
    "https://127.1/token",                        # short form
    "https://2130706433/token",                   # decimal 127.0.0.1
    "https://0x7f000001/token",                   # hex
    "https://0177.0.0.1/token",                   # octal
    "https://0/token",                            # 0.0.0.0
    "https://10.0.0.8/token",
    "https://172.16.3.4/token",
    "https://192.168.1.1/token",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "https://100.64.0.1/token",                   # carrier-grade NAT
    "https://[::1]/token",
    "https://[fe80::1]/token",
    "https://[fc00::1]/token",
    "https://[::ffff:127.0.0.1]/token",           # IPv4-mapped
    "https://[::127.0.0.1]/token",                # IPv4-compatible
    "https://[64:ff9b::7f00:1]/token",            # NAT64 of 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/token",         # NAT64 of 169.254.169.254
    "https://[2002:7f00:1::]/token",              # 6to4 of 127.0.0.1
    "https://224.0.0.1/token",                    # multicast (Python counts it global)
    "https://233.252.0.1/token",                  # GLOP multicast
    "https://239.255.255.250/token",              # SSDP multicast
    "https://255.255.255.255/token",              # broadcast
    "https://240.0.0.1/token",                    # reserved
    "https://[ff0e::1]/token",                    # global-scope IPv6 multicast
    "https://[::ffff:224.0.0.1]/token",           # IPv4-mapped multicast
    "https://no-such-host.invalid/token",         # does not resolve
    "https:///token",                             # no host
    "ftp://93.184.216.34/token",
])
def test_check_url_refuses_unsafe_urls_in_production(production, url):
    """Scheme, userinfo, loopback/private/link-local/mapped/encoded addresses: refused."""
    with pytest.raises(http.UnsafeURL):
        http.check_url(url)


@pytest.mark.parametrize("url", [PUBLIC, "https://[2606:4700:4700::1111]/dns-query",
                                 "https://[64:ff9b::5db8:d822]/token"])
def test_check_url_allows_public_https(production, url):
    """Control: a public address over https passes (NAT64 of a public IPv4 too)."""
    http.check_url(url)


def test_local_providers_only_when_allowed(settings):
    """http://localhost is for DEBUG or the sandbox only."""
    settings.ALLOW_LOCAL_PROVIDERS = True
    http.check_url("http://localhost:8000/sandbox/oauth2/token")
    settings.ALLOW_LOCAL_PROVIDERS = False
    with pytest.raises(http.UnsafeURL):
        http.check_url("http://localhost:8000/sandbox/oauth2/token")


def test_every_redirect_hop_is_checked(production, monkeypatch):
    """A public endpoint redirecting to a loopback address: the second hop is never sent."""
    fake = install_fake(monkeypatch)
    fake.add("GET", PUBLIC, status=302, headers={"Location": "https://127.0.0.1/admin"})
    with pytest.raises(http.UnsafeURL):
        http.Session().get(PUBLIC)
    assert [c.url for c in fake.calls] == [PUBLIC]


@pytest.mark.parametrize("session", [
    lambda: http.Session(),
    lambda: http.OAuth2(client_id="fake-client-id"),
    lambda: http.OAuth1("fake-consumer-key", client_secret="fake-consumer-secret-123"),
])
def test_every_session_kind_checks_before_sending(production, monkeypatch, session):
    """Plain, OAuth 2.0 and OAuth 1.0a sessions all refuse an unsafe URL before sending."""
    fake = install_fake(monkeypatch)
    with pytest.raises(http.UnsafeURL):
        session().post("https://169.254.169.254/latest/meta-data/", data={"a": "b"})
    assert fake.calls == []
