"""Hatchway's MCP flow (issue 21 §5) against a real MCP server built with the `mcp` Python
SDK -- its Streamable HTTP transport, its resource server (RFC 9728 metadata, 401 naming
it) and its authorization server (RFC 8414 metadata, RFC 7591 registration, PKCE, RFC 8707
resource-bound tokens, refresh, RFC 7009 revocation): tests/interop/mcp_sdk_server.py.

End to end with the catalogue's own "MCP server (any)" connector: install by the API with
the server's URL, sign-in (the SDK's authorize redirect, its consent page approved),
authenticated, verify, credentials, JSON-RPC `initialize`, `tools/list` and `tools/call` through
the proxy (the SDK answers with server-sent events, streamed back), refresh by the
workers (once across concurrent workers, on PostgreSQL), revocation -- HTTP Basic at the
SDK too -- and the refusal of metadata naming a private authorization server.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.db import connection, connections
from django.utils import timezone

from api.models import Scope
from audit.models import AuditEvent
from connectors.models import DiscoveredServer, DynamicClient
from installs import refresh
from installs.models import AuthAttempt, Install
from tests.api.helpers import bearer, make_key
from tests.factories import authenticate, callback_for, install_path, path_and_query, query
from tests.installs.conftest import worker_pass
from tests.interop.mcp_sdk_server import PROVIDER, SWITCHES, Provider, running_sdk_server

TIMEOUT = 10
SLUG = "mcp-server"  # the catalogue's "MCP server (any)"
PROTOCOL = "2025-06-18"  # a revision the SDK speaks with Streamable HTTP sessions
ACCEPT = "application/json, text/event-stream"  # what an MCP client sends
WORKERS = 4


@pytest.fixture(scope="session")
def sdk_base() -> Iterator[str]:
    with running_sdk_server() as base:
        yield base


@pytest.fixture(scope="session")
def private_issuer_base() -> Iterator[str]:
    """A resource server only, whose RFC 9728 metadata names an authorization server on a
    private address."""
    with running_sdk_server(issuer="https://10.0.0.1") as base:
        yield base


@pytest.fixture
def sdk(sdk_base: str, catalog: None) -> Iterator[Provider]:
    PROVIDER.reset()
    SWITCHES.reset()
    yield PROVIDER
    PROVIDER.reset()
    SWITCHES.reset()


def api_install(account: Any, server_url: str) -> Install:
    """The partner's backend installs the connector for its customer, with the URL."""
    api = bearer(make_key(account.partner, Scope.MANAGE)[1])
    response = api.post(f"/api/v1/accounts/{account.external_id}/installs", json.dumps(
        {"connector": SLUG, "name": "Ada's MCP", "values": {"server_url": server_url}}),
        content_type="application/json")
    assert response.status_code == 201, response.content
    install = Install.objects.get(pk=response.json()["id"])
    assert install.values == {"server_url": server_url}
    return install


def consent_at_sdk(authorize_url: str) -> str:
    """The browser at the SDK's authorize endpoint: redirected to its consent page, where
    the resource owner presses Allow; return the callback URL it is sent to."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, answer.text
    consent = answer.headers["Location"]
    page = requests.get(consent, timeout=TIMEOUT)
    assert page.status_code == 200 and "Allow" in page.text
    approved = requests.post(consent, data={"request": query(consent)["request"]},
                             allow_redirects=False, timeout=TIMEOUT)
    assert approved.status_code == 302, approved.text
    return str(approved.headers["Location"])


def rpc(api: Any, install: Install, method: str, params: dict[str, Any] | None = None,
        *, session: str = "", call_id: int | None = 1) -> Any:
    """A JSON-RPC message through the proxy to the MCP server's very URL."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if call_id is not None:
        message["id"] = call_id
    if params is not None:
        message["params"] = params
    headers = {"HTTP_ACCEPT": ACCEPT}
    if session:
        headers |= {"HTTP_MCP_SESSION_ID": session, "HTTP_MCP_PROTOCOL_VERSION": PROTOCOL}
    return api.post(f"/api/v1/proxy/{install.pk}/", data=json.dumps(message),
                    content_type="application/json", **headers)


def answer_of(response: Any) -> dict[str, Any]:
    """The JSON-RPC answer in the SDK's server-sent events, streamed back as they came."""
    assert response.status_code == 200, b"".join(response.streaming_content)[:500]
    assert response.streaming and response["Content-Type"].startswith("text/event-stream")
    assert not response.has_header("Content-Length")
    events = b"".join(response.streaming_content).decode()
    data = [line[len("data:"):].strip() for line in events.splitlines()
            if line.startswith("data:") and line[len("data:"):].strip()]
    answers = [json.loads(d) for d in data if "id" in json.loads(d)]
    assert len(answers) == 1, events
    return dict(answers[0])


def initialize(api: Any, install: Install) -> str:
    """`initialize`, then `notifications/initialized`; the session's id."""
    response = rpc(api, install, "initialize", {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "hatchway-interop", "version": "1"}})
    session = response["Mcp-Session-Id"]  # returned by the proxy
    result = answer_of(response)["result"]
    assert result["serverInfo"]["name"] == "sdk-interop"
    assert result["protocolVersion"] == PROTOCOL
    done = rpc(api, install, "notifications/initialized", session=session, call_id=None)
    assert done.status_code == 202
    return str(session)


def mcp_status(base: str, access_token: str) -> int:
    """The SDK's resource server asked directly with a token (a `ping`)."""
    return requests.post(f"{base}/mcp", timeout=TIMEOUT, json={
        "jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={
        "Authorization": f"Bearer {access_token}", "Accept": ACCEPT}).status_code


def secrets_of(provider: Provider) -> list[str]:
    found = [c.client_secret or "" for c in provider.clients.values()]
    for token in provider.issued:
        found += [token.access_token, token.refresh_token or ""]
    return [s for s in found if s]


@pytest.mark.parametrize("well_known", [True, False],
                         ids=["well-known", "www-authenticate"])
def test_mcp_sdk_server_end_to_end(admin_client, account, sdk, sdk_base, well_known, caplog):
    """Install by the API, discovery (the SDK's RFC 9728 document at the well-known URL, or
    the one its 401 names), dynamic registration at the SDK, sign-in with PKCE and
    resource=<server URL>, credentials, the proxy speaking MCP with the SDK, refresh by
    the workers, revocation at the SDK -- and no secret anywhere."""
    caplog.set_level(logging.INFO)
    SWITCHES.well_known = well_known
    server_url = f"{sdk_base}/mcp"
    install = api_install(account, server_url)

    url = authenticate(admin_client, install)
    assert url.startswith(f"{sdk_base}/authorize?")
    params = query(url)
    assert params["resource"] == server_url and params["code_challenge_method"] == "S256"
    [client] = sdk.clients.values()  # registered by the SDK's RegistrationHandler
    assert params["client_id"] == client.client_id
    assert [str(u) for u in client.redirect_uris or []] == [callback_for(SLUG)]
    # MCP servers: client_secret_post first (connectors/registration.py says why)
    assert client.token_endpoint_auth_method == "client_secret_post"
    row = DynamicClient.objects.get()
    assert (row.partner, row.issuer) == (account.partner, sdk_base)
    assert DiscoveredServer.objects.get().issuer == sdk_base
    assert SWITCHES.well_known_asked == (1 if well_known else 2)  # 404, then named

    response = admin_client.get(path_and_query(consent_at_sdk(url)))
    assert response.status_code == 302 and response["Location"] == install_path(install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED, install.last_error
    [issued] = sdk.issued
    assert sdk.token_resources == [server_url]  # the code was bound to the server (RFC 8707)
    assert sdk.access[issued.access_token].resource == server_url

    manage = bearer(make_key(account.partner, Scope.MANAGE)[1])
    checked = manage.post(f"/api/v1/installs/{install.pk}/verify").json()
    assert checked["ok"] is True  # the MCP entry defines no test request (api.verify)
    assert "defines no test request" in checked["message"]
    api = bearer(make_key(account.partner, Scope.PROXY, Scope.CREDENTIALS)[1])
    shared = api.get(f"/api/v1/installs/{install.pk}/credentials").json()
    assert shared["credentials"]["access_token"] == issued.access_token
    assert issued.refresh_token not in json.dumps(shared)
    assert (client.client_secret or "-") not in json.dumps(shared)

    session = initialize(api, install)
    tools = answer_of(rpc(api, install, "tools/list", {}, session=session, call_id=2))
    assert [t["name"] for t in tools["result"]["tools"]] == ["whoami"]
    called = answer_of(rpc(api, install, "tools/call", {"name": "whoami", "arguments": {}},
                           session=session, call_id=3))
    assert called["result"]["content"][0]["text"] == "ada"
    assert sdk.tool_calls == [issued.access_token]  # the SDK accepted the install's token

    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert worker_pass() == refresh.REFRESHED
    install.refresh_from_db()
    first, second = sdk.issued
    assert install.credentials["access_token"] == second.access_token
    assert first.refresh_token in sdk.revoked  # rotated by the SDK's provider
    assert sdk.token_resources == [server_url, server_url]  # the refresh names it too
    again = initialize(api, install)  # a new session with the refreshed token
    answer_of(rpc(api, install, "tools/call", {"name": "whoami", "arguments": {}},
                  session=again, call_id=4))
    assert sdk.tool_calls[-1] == second.access_token

    page = admin_client.get(install_path(install)).content.decode()
    gone = admin_client.post(install_path(install, "deauthenticate"), follow=True)
    assert "revoked the token" in gone.content.decode()
    assert {second.access_token, second.refresh_token} <= sdk.revoked
    assert mcp_status(sdk_base, second.access_token) == 401  # the SDK refuses it now

    events = " ".join(json.dumps(e.detail, default=str) for e in AuditEvent.objects.all())
    for secret in secrets_of(sdk):
        for text in (page, gone.content.decode(), events, caplog.text):
            assert secret not in text


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs PostgreSQL for row locks: set DATABASE_URL=postgres://…")
def test_concurrent_workers_renew_once_at_the_sdk(transactional_db, admin_client, account,
                                                  sdk, sdk_base):
    """Four refresh workers at once on a due install: the SDK's token endpoint is asked
    once (the others skip the locked row), and the install holds the one new token."""
    install = api_install(account, f"{sdk_base}/mcp")
    admin_client.get(path_and_query(consent_at_sdk(authenticate(admin_client, install))))
    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    SWITCHES.token_delay = 0.5  # the SDK answers slowly: the workers overlap
    start = threading.Barrier(WORKERS)
    outcomes: list[dict[str, int]] = []

    def work() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(dict(refresh.run_pass()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(o.get(refresh.REFRESHED, 0) for o in outcomes) == 1, outcomes
    first, second = sdk.issued  # one refresh at the SDK
    install.refresh_from_db()
    assert install.credentials["access_token"] == second.access_token
    assert first.refresh_token in sdk.revoked


def test_http_basic_at_the_sdk(admin_client, account, sdk, sdk_base):
    """Where the SDK's metadata offers HTTP Basic alone: Hatchway names its client in the
    body too, which the SDK's token endpoint requires, so sign-in and refresh work; the
    SDK's revocation endpoint refuses Basic (its RevocationRequest requires a
    `client_secret` form field): the deauthentication says so and still deletes the
    credentials."""
    SWITCHES.basic_only = True
    install = api_install(account, f"{sdk_base}/mcp")
    url = authenticate(admin_client, install)
    [client] = sdk.clients.values()
    assert client.token_endpoint_auth_method == "client_secret_basic"
    admin_client.get(path_and_query(consent_at_sdk(url)))
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED, install.last_error
    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert worker_pass() == refresh.REFRESHED
    _, second = sdk.issued
    gone = admin_client.post(install_path(install, "deauthenticate"), follow=True)
    assert "The provider refused to revoke the token" in gone.content.decode()
    install.refresh_from_db()
    assert install.credentials == {}
    assert second.refresh_token not in sdk.revoked  # the SDK's limitation, not ours


def test_the_sdks_401_names_its_resource_metadata(sdk, sdk_base):
    """The SDK's resource server answers 401 with its metadata named, as discovery reads."""
    answer = requests.post(f"{sdk_base}/mcp", json={"jsonrpc": "2.0", "id": 1,
                                                     "method": "ping"},
                           headers={"Accept": ACCEPT}, timeout=TIMEOUT)
    assert answer.status_code == 401
    assert (f'resource_metadata="{sdk_base}/.well-known/oauth-protected-resource/mcp"'
            in answer.headers["WWW-Authenticate"])


def test_metadata_naming_a_private_authorization_server_is_refused(admin_client, account,
                                                                   sdk, private_issuer_base):
    """The SDK's resource metadata names https://10.0.0.1 as its authorization server:
    authenticate is refused with the message; nothing registered, discovered or started."""
    install = api_install(account, f"{private_issuer_base}/mcp")
    document = requests.get(f"{private_issuer_base}/.well-known/oauth-protected-resource/mcp",
                            timeout=TIMEOUT).json()
    assert document["authorization_servers"] == ["https://10.0.0.1"]  # as the SDK serves it
    response = admin_client.post(install_path(install, "authenticate"), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "names an authorization server at an address this server may not call" in page
    install.refresh_from_db()
    assert install.status != Install.Status.AUTHENTICATED and install.credentials == {}
    assert not AuthAttempt.objects.filter(install=install).exists()
    assert not DynamicClient.objects.exists() and not DiscoveredServer.objects.exists()
    assert sdk.clients == {} and sdk.authorize_params == []
