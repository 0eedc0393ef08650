"""Hatchway against Authlib's server found by discovery: RFC 8414 metadata, RFC 7591
dynamic registration (Authlib's `ClientRegistrationEndpoint`), RFC 9207 `iss`, and an
MCP-like protected resource with RFC 9728 metadata (tests/interop/authlib_discovery.py).

End to end: sign-in, authenticated, verify, credentials, proxy, refresh by the workers,
revocation -- and every refusal with its message, nothing half-saved, no secret shown."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from api.models import Scope
from audit.models import AuditEvent
from connectors import dynamic
from connectors.models import Connector, DiscoveredServer, DynamicClient
from installs import refresh, revocation
from installs.models import AuthAttempt, Install, PendingRevocation
from tests.api.helpers import bearer, make_key
from tests.factories import (
    authenticate,
    callback_for,
    install_path,
    make_connector,
    new_install,
    path_and_query,
    query,
    raw_value,
)
from tests.installs.conftest import worker_pass
from tests.interop.authlib_discovery import DISCOVERY
from tests.interop.authlib_server import Store
from tests.interop.conftest import STAND_IN
from tests.interop.test_authlib_oauth2 import me, to_authlib

CALLBACK = "http://testserver/connectors/authlib-discovered/callback"


@pytest.fixture
def discovery(authlib: Store) -> Iterator[Store]:
    DISCOVERY.reset()
    yield authlib
    DISCOVERY.reset()


def live(slug: str, base: str, data: dict[str, Any]) -> Connector:
    connector = make_connector(slug, {"description": "Authlib found by discovery (tests).",
                                      "categories": ["CRM"], **data})
    connector.spec_data = json.loads(json.dumps(connector.spec_data).replace(STAND_IN, base))
    connector.save(update_fields=["spec_data"])
    return connector


def issuer_connector(store: Store) -> Connector:
    """`issuer` only, `registration = "dynamic"`: no field at all."""
    return live("authlib-discovered", store.base, {
        "name": "Authlib discovered",
        "auth": {"type": "oauth2", "issuer": STAND_IN, "registration": "dynamic",
                 "scopes": ["read", "write"]},
        "api": {"base_url": f"{STAND_IN}/api", "verify": "GET /me"}})


def mcp_connector(store: Store) -> Connector:
    return live("authlib-mcp", store.base, {
        "name": "Authlib MCP",
        "auth": {"type": "oauth2", "discovery": "protected_resource",
                 "registration": "dynamic", "scopes": ["read"]},
        "fields": [{"key": "server_url", "label": "MCP server URL", "level": "account",
                    "kind": "server_url"}]})


def sign_in(client: Any, install: Install) -> Any:
    url = authenticate(client, install)
    answer = to_authlib(url)
    assert answer.status_code == 302, answer.text
    return client.get(path_and_query(answer.headers["Location"]))


def secrets_of(store: Store) -> list[str]:
    found = [c.client_secret for c in store.clients.values()]
    for token in store.tokens:
        found += [token.access_token, token.refresh_token or ""]
    return [s for s in found if s]


def assert_nothing_leaked(store: Store, *texts: str, caplog: Any = None) -> None:
    events = " ".join(json.dumps(e.detail, default=str) for e in AuditEvent.objects.all())
    logged = caplog.text if caplog is not None else ""
    for secret in secrets_of(store):
        for text in (*texts, events, logged):
            assert secret not in text


def test_issuer_discovery_and_dynamic_registration_end_to_end(admin_client, account,
                                                              discovery, caplog):
    """No Authentication Settings (Ready, no padlock); sign-in registers one client at
    Authlib with the connector's callback URL; then authenticated, verify, credentials,
    proxy, refresh by the workers and revocation -- all at Authlib."""
    caplog.set_level(logging.INFO)
    connector = issuer_connector(discovery)
    assert connector.needs_partner_settings is False
    settings_page = admin_client.get(reverse("connectors:settings", args=[connector.slug]))
    assert "Ready" in settings_page.content.decode()

    install = new_install(account, connector, name="Initech CRM")
    url = authenticate(admin_client, install)
    assert url.startswith(f"{discovery.base}/oauth/authorize?")
    params = query(url)
    assert params["code_challenge_method"] == "S256" and params["scope"] == "read write"
    [registered] = DISCOVERY.registrations
    assert registered["redirect_uris"] == [callback_for(connector.slug)]
    assert registered["token_endpoint_auth_method"] == "client_secret_basic"
    assert params["client_id"] == registered["client_id"]
    row = DynamicClient.objects.get()
    assert (row.partner, row.issuer, row.redirect_uri) == (
        account.partner, discovery.base, callback_for(connector.slug))
    secret = discovery.clients[registered["client_id"]].client_secret
    raw = raw_value(row, "client")
    assert raw and secret.encode() not in raw and registered["client_id"].encode() not in raw
    assert DiscoveredServer.objects.get().issuer == discovery.base

    callback = to_authlib(url).headers["Location"]
    assert query(callback)["iss"] == discovery.base  # RFC 9207, Authlib's IssuerParameter
    response = admin_client.get(path_and_query(callback))
    assert response.status_code == 302 and response["Location"] == install_path(install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    [issued] = discovery.tokens
    assert issued.client_id == registered["client_id"]
    assert discovery.api_calls == [issued.access_token]  # verify

    api = bearer(make_key(account.partner, Scope.PROXY, Scope.CREDENTIALS)[1])
    shared = api.get(f"/api/v1/installs/{install.pk}/credentials").json()
    assert shared["credentials"]["access_token"] == issued.access_token
    assert "refresh_token" not in json.dumps(shared) and secret not in json.dumps(shared)
    proxied = api.get(f"/api/v1/proxy/{install.pk}/me")
    assert proxied.status_code == 200 and b"ada" in b"".join(proxied.streaming_content)

    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert worker_pass() == refresh.REFRESHED
    install.refresh_from_db()
    first, second = discovery.tokens
    assert first.refresh_token_revoked
    assert install.credentials["access_token"] == second.access_token

    second_install = new_install(account, connector, name="Second")
    sign_in(admin_client, second_install)
    assert len(DISCOVERY.registrations) == 1  # once per partner, issuer and callback

    page = admin_client.get(install_path(install)).content.decode()
    gone = admin_client.post(install_path(install, "deauthenticate"), follow=True)
    assert "revoked the token" in gone.content.decode(), gone.content.decode()[-3000:]
    assert discovery.tokens[1].refresh_token_revoked and me(discovery, second.access_token) == 401
    assert_nothing_leaked(discovery, page, settings_page.content.decode(), caplog=caplog)


def test_a_forgotten_client_is_registered_again_once(admin_client, account, discovery):
    """Authlib forgets the client: the refresh is refused (invalid_client), Hatchway
    registers a new client once and asks for a new sign-in, which uses the new client."""
    connector = issuer_connector(discovery)
    install = new_install(account, connector)
    sign_in(admin_client, install)
    [old] = DISCOVERY.registrations
    discovery.clients.pop(old["client_id"])
    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    worker_pass()
    install.refresh_from_db()
    assert install.status == Install.Status.REAUTH_REQUIRED
    assert "registered" in install.last_error
    _, new = DISCOVERY.registrations
    assert DynamicClient.objects.get().client["client_id"] == new["client_id"]
    sign_in(admin_client, install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert discovery.tokens[-1].client_id == new["client_id"]
    assert len(DISCOVERY.registrations) == 2


def test_a_failed_revocation_is_retried_with_the_discovered_endpoint(admin_client, account,
                                                                   discovery):
    """Authlib's revocation endpoint is down at deauthentication: the workers' retry finds
    the endpoint and the partner's client again and revokes."""
    install = new_install(account, issuer_connector(discovery))
    sign_in(admin_client, install)
    DISCOVERY.revocation_status = 503
    admin_client.post(install_path(install, "deauthenticate"))
    [token] = discovery.tokens
    assert not token.refresh_token_revoked
    row = PendingRevocation.objects.get()
    DISCOVERY.revocation_status = 0
    revocation.retry_revocations(now=row.next_attempt_at + timedelta(seconds=1))
    assert token.refresh_token_revoked
    assert not PendingRevocation.objects.exists()  # revoked at last: the row goes


def test_iss_of_another_server_is_refused(admin_client, account, discovery):
    """RFC 9207: a callback naming another issuer is a 400 before any token request."""
    connector = issuer_connector(discovery)
    install = new_install(account, connector)
    callback = to_authlib(authenticate(admin_client, install)).headers["Location"]
    forged = callback.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=")
    response = admin_client.get(path_and_query(forged))
    assert response.status_code == 400
    assert discovery.tokens == []
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and install.credentials == {}


def test_missing_iss_from_a_server_that_sends_it_is_refused(admin_client, account, discovery):
    connector = issuer_connector(discovery)
    install = new_install(account, connector)
    callback = to_authlib(authenticate(admin_client, install)).headers["Location"]
    params = {k: v for k, v in query(callback).items() if k != "iss"}
    response = admin_client.get(reverse("connector_callback", args=[connector.slug]), params)
    assert response.status_code == 400 and discovery.tokens == []


def refused_at_begin(client: Any, install: Install) -> str:
    """Authenticate is refused: back on the install page with the message."""
    response = client.post(install_path(install, "authenticate"), follow=True)
    assert response.status_code == 200
    install.refresh_from_db()
    assert install.status != Install.Status.AUTHENTICATED and install.credentials == {}
    assert not AuthAttempt.objects.filter(install=install).exists()
    return response.content.decode()


@pytest.mark.parametrize(("status", "message"), [
    (500, "registration endpoint is unavailable (HTTP 500)"),
    (400, "refused to register a client (HTTP 400)"),
])
def test_registration_endpoint_failing_is_refused(admin_client, account, discovery, status,
                                                  message):
    DISCOVERY.registration_status = status
    install = new_install(account, issuer_connector(discovery))
    page = refused_at_begin(admin_client, install)
    assert message in page and "upstream exploded" not in page
    assert not DynamicClient.objects.exists() and discovery.clients == {}


@pytest.mark.parametrize(("document", "message"), [
    (b"<html>not json</html>", "is not a JSON object"),
    (b"[1, 2]", "is not a JSON object"),
    ({"issuer": "https://other.example", "authorization_endpoint": "https://other.example/a",
      "token_endpoint": "https://other.example/t"}, "names another issuer"),
    ({"issuer": "{base}", "token_endpoint": "{base}/oauth/token"},
     "has no usable authorization_endpoint"),
    ({"issuer": "{base}", "authorization_endpoint": "{base}/oauth/authorize",
      "token_endpoint": "https://10.0.0.7/token"}, "token_endpoint is at an address"),
])
def test_unusable_discovery_documents_are_refused(admin_client, account, discovery, document,
                                                  message):
    if isinstance(document, dict):
        document = json.loads(json.dumps(document).replace("{base}", discovery.base))
    DISCOVERY.metadata_override = document
    install = new_install(account, issuer_connector(discovery))
    page = refused_at_begin(admin_client, install)
    assert message in page
    assert not DynamicClient.objects.exists() and not DiscoveredServer.objects.exists()
    assert DISCOVERY.registrations == []


# --- MCP: protected resource discovery (RFC 9728) + resource indicators (RFC 8707) -------


def mcp_install(account: Any, store: Store, server_url: str = "") -> Install:
    return new_install(account, mcp_connector(store),
                       values={"server_url": server_url or f"{store.base}/mcp"})


def rpc(api: Any, install: Install, method: str, **headers: str) -> Any:
    return api.post(f"/api/v1/proxy/{install.pk}/", data=json.dumps(
        {"jsonrpc": "2.0", "id": 7, "method": method, "params": {}}),
        content_type="application/json", **headers)


@pytest.mark.parametrize(("well_known", "post_only"), [
    (True, False), (False, False), (False, True)],
    ids=["well-known", "www-authenticate", "www-authenticate-to-a-post"])
def test_mcp_server_end_to_end(admin_client, account, discovery, well_known, post_only,
                               caplog):
    """The customer enters the MCP server's URL; Hatchway finds its authorization server
    (RFC 9728 metadata, at the well-known URL or named by the 401), registers, signs in
    with PKCE and resource=<server URL>, and the proxy passes JSON-RPC and SSE through."""
    caplog.set_level(logging.INFO)
    DISCOVERY.well_known_resource, DISCOVERY.post_only = well_known, post_only
    install = mcp_install(account, discovery)
    server_url = f"{discovery.base}/mcp"
    url = authenticate(admin_client, install)
    assert query(url)["resource"] == server_url
    response = admin_client.get(path_and_query(to_authlib(url).headers["Location"]))
    assert response.status_code == 302
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert DISCOVERY.resources == [server_url, server_url]  # authorize and token requests

    api = bearer(make_key(account.partner, Scope.PROXY)[1])
    answer = rpc(api, install, "initialize")
    assert answer.status_code == 200
    body = json.loads(b"".join(answer.streaming_content))
    assert body["result"]["serverInfo"]["name"] == "interop-mcp"
    assert DISCOVERY.mcp_calls[-1]["token"] == install.credentials["access_token"]
    assert answer["Mcp-Session-Id"] == "interop-session-1"  # passed back, and on
    rpc(api, install, "tools/list", HTTP_MCP_SESSION_ID="interop-session-1")
    assert DISCOVERY.mcp_calls[-1]["session"] == "interop-session-1"  # forwarded

    streamed = rpc(api, install, "tools/call", HTTP_ACCEPT="text/event-stream")
    assert streamed.status_code == 200 and streamed.streaming
    assert streamed["Content-Type"].startswith("text/event-stream")
    assert not streamed.has_header("Content-Length")
    events = b"".join(streamed.streaming_content).decode()
    assert events.count("event: message") == 2 and '"user": "ada"' in events

    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert worker_pass() == refresh.REFRESHED
    assert DISCOVERY.resources[-1] == server_url  # the refresh names the resource too
    admin_client.post(install_path(install, "deauthenticate"), follow=True)
    assert discovery.tokens[-1].refresh_token_revoked
    assert_nothing_leaked(discovery, caplog=caplog)


def test_mcp_metadata_naming_a_private_authorization_server_is_refused(admin_client, account,
                                                                      discovery):
    DISCOVERY.resource_servers = ["https://10.0.0.1"]
    install = mcp_install(account, discovery)
    page = refused_at_begin(admin_client, install)
    assert "names an authorization server at an address this server may not call" in page
    assert DISCOVERY.registrations == [] and not DiscoveredServer.objects.exists()


@pytest.mark.parametrize("server_url", [
    "http://mcp.example.com/mcp", "https://user:pw@mcp.example.com/mcp",
    "https://10.1.2.3/mcp", "https://127.0.0.1/mcp", "https://[::1]/mcp",
    "https://mcp.example.com/mcp#frag",
])
@override_settings(ALLOW_LOCAL_PROVIDERS=False)
def test_unsafe_server_urls_are_refused(admin_client, account, discovery, server_url):
    install = mcp_install(account, discovery, server_url)
    page = refused_at_begin(admin_client, install)
    assert "server URL" in page
    assert DISCOVERY.registrations == [] and DISCOVERY.mcp_calls == []


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs PostgreSQL for concurrent writers: set DATABASE_URL=postgres://…")
def test_concurrent_first_sign_ins_keep_one_client(transactional_db, partner, discovery):
    """Two first sign-ins at once both register at Authlib; one client is kept (the
    unique partner + issuer + callback), and both sign-ins use that one."""
    metadata = dynamic.server_metadata(discovery.base)
    start = threading.Barrier(2)
    results: list[str] = []

    def register() -> None:
        try:
            start.wait(timeout=5)
            client = dynamic.dynamic_client(partner.pk, metadata, redirect_uri=CALLBACK,
                                            client_name="Hatchway: race")
            results.append(client.client_id)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    [row] = DynamicClient.objects.all()
    assert results == [row.client["client_id"]] * 2
    assert 1 <= len(DISCOVERY.registrations) <= 2
