"""Fixtures of the interoperability tests: Authlib's authorization server, live on
127.0.0.1 for the whole run, and connectors pointing at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import Account, Partner
from connectors.models import Connector
from tests.factories import callback_for, make_connector, save_settings
from tests.interop.authlib_server import STORE, Client, Store, running_server
from tests.interop.serving import plain_http

# The catalogue schema accepts only https:// URLs (or {public_url}); the connector is
# validated with this stand-in origin, then its stored spec is pointed at the live server.
# At run time connectors/http.py lets http://127.0.0.1 through only because the tests run
# with SANDBOX_ENABLED (ALLOW_LOCAL_PROVIDERS), as for any local provider.
STAND_IN = "https://authlib.example"
FIELDS = [{"key": "client_id", "label": "Client ID"},
          {"key": "client_secret", "label": "Client Secret", "secret": True}]


@pytest.fixture(scope="session")
def authlib_base() -> Iterator[str]:
    """Authlib's server on a free port. Authlib refuses plain http unless told otherwise."""
    with plain_http(), running_server() as base:
        yield base


@pytest.fixture
def authlib(authlib_base: str) -> Iterator[Store]:
    """The server's in-memory store, emptied for this test."""
    STORE.reset()
    STORE.base = authlib_base
    yield STORE
    STORE.reset()


def live_connector(slug: str, base: str, auth: dict[str, Any]) -> Connector:
    data = {
        "name": f"Authlib {slug}", "description": "Authlib's authorization server (tests).",
        "categories": ["CRM"], "auth": auth, "fields": FIELDS,
        "api": {"base_url": f"{STAND_IN}/api", "verify": "GET /me"},
    }
    connector = make_connector(slug, data)
    connector.spec_data = json.loads(json.dumps(connector.spec_data).replace(STAND_IN, base))
    connector.save(update_fields=["spec_data"])
    return connector


def code_flow_live(store: Store, *, pkce: bool = True) -> Connector:
    """The authorization code connector at Authlib (no Authentication Settings yet)."""
    return live_connector("authlib-oauth2", store.base, {
        "type": "oauth2", "authorize_url": f"{STAND_IN}/oauth/authorize",
        "token_url": f"{STAND_IN}/oauth/token", "revoke_url": f"{STAND_IN}/oauth/revoke",
        "scopes": ["read", "write"], "pkce": pkce, "token_auth": "client_secret_basic",
    })


def code_flow_connector(partner: Partner, store: Store, *, redirect_uri: str | None = None,
                        pkce: bool = True) -> tuple[Connector, Client]:
    """The authorization code connector, and its client registered at Authlib (with the
    connector's own callback URL unless `redirect_uri` says otherwise) saved as the
    partner's Authentication Settings."""
    connector = code_flow_live(store, pkce=pkce)
    slug = connector.slug
    client = store.register(redirect_uri=callback_for(slug) if redirect_uri is None
                            else redirect_uri)
    save_settings(partner, connector, {"client_id": client.client_id},
                  {"client_secret": client.client_secret})
    return connector, client


def client_credentials_connector(partner: Partner, store: Store) -> tuple[Connector, Client]:
    connector = live_connector("authlib-machine", store.base, {
        "type": "oauth2_client_credentials", "token_url": f"{STAND_IN}/oauth/token",
        "scopes": ["read"],
    })
    client = store.register(grant_types=("client_credentials",))
    save_settings(partner, connector, {"client_id": client.client_id},
                  {"client_secret": client.client_secret})
    return connector, client


@pytest.fixture
def account(partner: Partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
