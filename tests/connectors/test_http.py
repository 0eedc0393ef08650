"""The outbound adapter: one per process, shared by every session, never closed by one."""

from __future__ import annotations

import pytest

from connectors import http


def test_every_session_uses_the_one_pinned_adapter():
    """Plain and OAuth sessions mount the same adapter for http and https."""
    sessions = [http.Session(), http.OAuth2(client_id="fake-client-id")]
    adapters = {id(s.get_adapter(url)) for s in sessions
                for url in ("https://api.example.com/", "http://localhost/")}
    assert adapters == {id(http.default_transport())}
    assert isinstance(http.default_transport(), http.PinnedAdapter)


def test_closing_a_session_keeps_the_shared_pools():
    """A closed session does not drop the kept connections every other session uses."""
    adapter = http.default_transport()
    pool = adapter.poolmanager.connection_from_url("https://api.example.com/")
    http.Session().close()
    assert adapter.poolmanager.connection_from_url("https://api.example.com/") is pool


@pytest.fixture
def environment(monkeypatch):
    """The outbound settings read afresh from an environment the test sets."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                 "all_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    http.environment_has_proxies.cache_clear()
    http.environment_ca_bundle.cache_clear()
    yield monkeypatch
    http.environment_has_proxies.cache_clear()
    http.environment_ca_bundle.cache_clear()


def test_without_a_proxy_the_environment_is_read_once_not_per_request(environment):
    """requests' trust_env would scan the whole environment (and ~/.netrc) at every call."""
    environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/bench-only-bundle.pem")
    session = http.Session()
    assert session.trust_env is False
    assert session.verify == "/etc/ssl/certs/bench-only-bundle.pem"  # still honoured
    environment.setenv("REQUESTS_CA_BUNDLE", "/changed.pem")
    assert http.Session().verify == "/etc/ssl/certs/bench-only-bundle.pem"  # read once


def test_without_a_bundle_tls_verification_stays_on(environment):
    session = http.Session()
    assert session.trust_env is False and session.verify is True


def test_with_a_proxy_requests_reads_the_environment_per_request(environment):
    """NO_PROXY's per-host exceptions are worked out by requests for each URL."""
    environment.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    session = http.Session()
    assert session.trust_env is True
    assert session.merge_environment_settings(
        "https://api.example.com/", {}, None, None, None)["proxies"] == {
        "https": "http://proxy.invalid:3128"}
