"""The OAuth 2.0 client credentials method against a fake provider."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from connectors.auth import build_method
from connectors.auth.base import AuthError, Context, TransientError
from connectors.auth.client_credentials import ClientCredentials
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from tests.fake_provider import FakeProvider, install_fake

BASE = "https://provider.localhost"
CLIENT_SECRET = "fake-client-secret-456"


def make_method(values: dict[str, str] | None = None, **auth: Any) -> ClientCredentials:
    data = {
        "name": "Machine API", "description": "Client credentials.",
        "auth": {"type": "oauth2_client_credentials", "token_url": f"{BASE}/token",
                 "scopes": ["read"], **auth},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True}],
    }
    spec = ConnectorSpec.from_data("machine", validate("machine.toml", "machine", data))
    values = {"client_id": "fake-client-id", "client_secret": CLIENT_SECRET, **(values or {})}
    return build_method(Context(spec=spec, values=values, callback_url=""))


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def test_no_browser_step_and_refreshable():
    """Client credentials need no redirect and can always get a new token."""
    method = make_method()
    assert method.browser_flow is False
    assert method.can_refresh({}) is True
    assert method.begin(None) is None


def test_complete_fetches_a_token_with_the_scope_and_extra_params(fake):
    """grant_type=client_credentials with scope, client id/secret in the body, extras sent."""
    fake.add("POST", f"{BASE}/token", json_body={"access_token": "fake-cc-token",
                                                 "token_type": "Bearer", "expires_in": 600})
    credentials = make_method(authorize_params={"audience": "api"}).complete(None, {})
    form = fake.form(fake.calls[0])
    assert form == {"grant_type": "client_credentials", "scope": "read", "audience": "api",
                    "client_id": "fake-client-id", "client_secret": CLIENT_SECRET}
    assert credentials.data == {"access_token": "fake-cc-token", "token_type": "Bearer"}
    assert credentials.expires_at is not None


def test_client_secret_basic(fake):
    """token_auth = client_secret_basic puts the client credentials in the header."""
    fake.add("POST", f"{BASE}/token", json_body={"access_token": "fake-cc-token",
                                                 "token_type": "Bearer"})
    make_method(token_auth="client_secret_basic").complete(None, {})
    expected = base64.b64encode(f"fake-client-id:{CLIENT_SECRET}".encode()).decode()
    assert fake.calls[0].headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in fake.form(fake.calls[0])


def test_refresh_fetches_anew(fake):
    """Refreshing a client credentials token is a new token request."""
    fake.add("POST", f"{BASE}/token", json_body={"access_token": "fake-cc-token-2",
                                                 "token_type": "Bearer"})
    credentials = make_method().refresh({"access_token": "fake-cc-token"})
    assert credentials.data["access_token"] == "fake-cc-token-2"
    assert fake.form(fake.calls[0])["grant_type"] == "client_credentials"


def test_missing_secret_is_a_configuration_error(fake):
    """Without a client secret nothing is sent."""
    with pytest.raises(AuthError) as caught:
        make_method({"client_secret": ""}).complete(None, {})
    assert caught.value.kind == "configuration"
    assert fake.calls == []


@pytest.mark.parametrize("canned, error_type", [
    ({"status": 401, "json_body": {"error": "invalid_client"}}, AuthError),
    ({"status": 500, "text": "boom"}, TransientError),
    ({"status": 200, "text": "{}"}, AuthError),
])
def test_failures(fake, canned, error_type):
    """Rejected client, outage and an empty response are safe errors."""
    fake.add("POST", f"{BASE}/token", **canned)
    with pytest.raises(error_type) as caught:
        make_method().complete(None, {})
    assert CLIENT_SECRET not in caught.value.message
