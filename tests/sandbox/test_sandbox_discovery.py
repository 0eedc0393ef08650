"""The sandbox's discovery, dynamic registration and MCP-like resource, end to end through
Hatchway's console, in process (`sandbox_transport`): sign-in, authenticated, verify,
proxy (JSON-RPC and text/event-stream), refresh, revocation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from api.models import Scope
from connectors.models import DynamicClient
from installs import refresh
from installs.models import Install
from sandbox.models import SandboxClient, SandboxToken
from tests.api.helpers import bearer, make_key
from tests.factories import (
    authenticate,
    callback_for,
    catalogue_connector,
    consent,
    install_path,
    new_install,
    path_and_query,
)
from tests.installs.conftest import worker_pass


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


def signed_in(client, account, slug: str) -> Install:
    connector = catalogue_connector(slug)
    assert connector.needs_partner_settings is False  # Ready: nothing to save
    install = new_install(account, connector)
    url = authenticate(client, install)
    assert url.startswith("http://testserver/sandbox/oauth2/authorize?")
    callback = consent(client, url)
    response = client.get(path_and_query(callback))
    assert response.status_code == 302 and response["Location"] == install_path(install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    return install


def test_sandbox_issuer_discovery_and_registration(admin_client, account, sandbox_transport):
    install = signed_in(admin_client, account, "sandbox-discovery")
    registered = SandboxClient.objects.get()
    assert registered.redirect_uri == callback_for("sandbox-discovery")
    assert registered.require_pkce
    assert DynamicClient.objects.get().client["client_id"] == registered.client_id
    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert worker_pass() == refresh.REFRESHED
    admin_client.post(install_path(install, "deauthenticate"))
    assert not SandboxToken.objects.filter(revoked_at__isnull=True).exists()


def test_sandbox_mcp_server(admin_client, account, sandbox_transport):
    install = signed_in(admin_client, account, "sandbox-mcp")
    token_request = next(r for r in sandbox_transport.calls if "oauth2/token" in r.url)
    assert "resource=http%3A%2F%2Ftestserver%2Fsandbox%2Fmcp" in token_request.body
    api = bearer(make_key(account.partner, Scope.PROXY)[1])
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize"})
    answer = api.post(f"/api/v1/proxy/{install.pk}/", data=body,
                      content_type="application/json")
    assert answer.status_code == 200
    assert json.loads(b"".join(answer.streaming_content))["result"]["serverInfo"] == {
        "name": "sandbox-mcp"}
    streamed = api.post(f"/api/v1/proxy/{install.pk}/", data=body,
                        content_type="application/json", HTTP_ACCEPT="text/event-stream")
    assert streamed["Content-Type"].startswith("text/event-stream")
    assert b"".join(streamed.streaming_content).startswith(b"event: message\ndata: ")
