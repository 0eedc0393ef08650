"""The shipped connectors whose API headers carry field values (Twitch, Harvest, Algolia,
Google Ads, Etsy, Deel): their verify request reaches the provider's real URL with every
header filled, against a fake provider; a hostile value never becomes a header."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from connectors.auth import build_method
from connectors.auth.base import AuthError, Context
from connectors.schema import PLACEHOLDER_RE, ConnectorSpec
from connectors.spec import CATALOG_DIR, load_file
from tests.fake_provider import FakeProvider, install_fake

PUBLIC_IP = "93.184.216.34"  # what every provider host "resolves" to here; the fake answers
OAUTH = {"access_token": "fake-access", "token_type": "Bearer"}

# slug -> (values entered, credentials, verify URL, headers the provider must receive)
CASES: dict[str, tuple[dict[str, str], dict[str, str], str, dict[str, str]]] = {
    "twitch": ({"client_id": "fakeclientid0123456789abcdefgh"}, OAUTH,
               "https://api.twitch.tv/helix/users",
               {"Client-Id": "fakeclientid0123456789abcdefgh",
                "Authorization": "Bearer fake-access"}),
    "harvest": ({"client_id": "fake-client", "account_id": "123456",
                 "user_agent": "Acme Sync (support@acme.example)"}, OAUTH,
                "https://api.harvestapp.com/v2/users/me",
                {"Harvest-Account-Id": "123456", "User-Agent": "Acme Sync (support@acme.example)"}),
    "algolia": ({"application_id": "FAKEAPP123"}, {"api_key": "fake-algolia-key"},
                "https://fakeapp123.algolia.net/1/indexes",  # host names are case-insensitive
                {"X-Algolia-Application-Id": "FAKEAPP123",
                 "X-Algolia-API-Key": "fake-algolia-key"}),
    "google-ads": ({"client_id": "1-fake.apps.googleusercontent.com",
                    "developer_token": "fake-developer-token"}, OAUTH,
                   "https://googleads.googleapis.com/v26/customers:listAccessibleCustomers",
                   {"developer-token": "fake-developer-token"}),
    "etsy": ({"client_id": "fakekeystring", "shared_secret": "fakesharedsecret"}, OAUTH,
             "https://openapi.etsy.com/v3/application/users/me",
             {"x-api-key": "fakekeystring:fakesharedsecret"}),
    "deel": ({"client_id": "fake-deel-client"}, OAUTH,
             "https://api.letsdeel.com/rest/v2/organizations",
             {"x-client-id": "fake-deel-client"}),
}


def shipped(slug: str) -> ConnectorSpec:
    return ConnectorSpec.from_data(slug, load_file(CATALOG_DIR / f"{slug}.toml")[1])


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    """The fake provider, with provider host names resolving to a public address."""
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *args, **kwargs: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port or 0))])
    return install_fake(monkeypatch)


def method(slug: str, values: dict[str, str]) -> Any:
    return build_method(Context(spec=shipped(slug), values=dict(values)))


@pytest.mark.parametrize("slug", list(CASES))
def test_verify_sends_the_filled_headers_to_the_provider(fake, slug):
    """The verify request goes to the documented URL carrying every header, filled."""
    values, credentials, url, headers = CASES[slug]
    fake.add("GET", url, json_body={})
    method(slug, values).verify(dict(credentials))
    [call] = fake.calls
    assert call.url == url
    for name, value in headers.items():
        assert fake.header(call, name) == value, name


@pytest.mark.parametrize("slug", list(CASES))
def test_every_header_placeholder_names_a_field_of_the_connector(slug):
    """The catalogue entries use placeholders only of their own fields; secrets stay secret."""
    spec = shipped(slug)
    names = {name for value in spec.api.headers.values() for name in PLACEHOLDER_RE.findall(value)}
    assert names and all(spec.field(name) for name in names)
    for key in ("developer_token", "shared_secret"):
        if key in names:
            assert spec.field(key).secret and spec.field(key).is_partner_level


def test_a_harvest_account_id_with_a_line_break_never_becomes_a_header(fake):
    """Header injection through an account value: refused before anything is sent."""
    values = {**CASES["harvest"][0], "account_id": "123456\r\nX-Injected: 1"}
    with pytest.raises(AuthError, match="account_id") as raised:
        method("harvest", values).verify(dict(OAUTH))
    assert raised.value.kind == "configuration"
    assert "X-Injected" not in raised.value.message
    assert fake.calls == []
