"""The outbound adapter: one per process, shared by every session, never closed by one."""

from __future__ import annotations

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
