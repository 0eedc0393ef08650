"""Shared by the import tests: an OAuth 2.0 connector at the fake provider with a verify
request and a captured value, and canned answers for its token and verify endpoints."""

from __future__ import annotations

from accounts.models import Partner
from connectors.models import Connector
from tests.factories import CLIENT_SECRET, make_connector, save_settings
from tests.fake_provider import HOST, FakeProvider

SLUG = "fake-import"
TOKEN_URL = f"{HOST}/token"
VERIFY_URL = f"{HOST}/api/me"


def import_connector(partner: Partner) -> Connector:
    connector = Connector.objects.filter(slug=SLUG).first() or make_connector(SLUG, {
        "name": "Fake Import", "description": "A fake OAuth 2.0 provider with a verify request.",
        "auth": {"type": "oauth2", "authorize_url": f"{HOST}/authorize", "token_url": TOKEN_URL},
        "api": {"base_url": f"{HOST}/api", "verify": "GET /me"},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True},
                   {"key": "region", "label": "Region", "level": "captured",
                    "from": "token.region", "pattern": "^[a-z]{2}$", "required": False}],
    })
    save_settings(partner, connector, {"client_id": "fake-client-id"},
                  {"client_secret": CLIENT_SECRET})
    return connector


def accept(provider: FakeProvider, *, access: str = "fake-access-new-1") -> None:
    """The provider refreshes to `access` and accepts any token at its verify request
    (the fake checks no header: tests look at `calls_to` for what was sent)."""
    provider.add("POST", TOKEN_URL, json_body={"access_token": access, "token_type": "Bearer",
                                               "expires_in": 3600})
    provider.add("GET", VERIFY_URL, json_body={"id": "me"})


def bearer_of(provider: FakeProvider) -> list[str]:
    """The Authorization header of each verify request, in order."""
    return [provider.header(c, "Authorization") for c in provider.calls_to(VERIFY_URL)]
