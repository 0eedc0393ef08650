"""Fixtures for the SECURITY.md audit tests: an account, a fake OAuth 2.0 / 1.0a provider
(canned responses, see tests/fake_provider.py) with the partner's settings saved."""

from __future__ import annotations

import pytest

from accounts.models import Account, Install
from connectors.models import Connector
from tests.conftest import make_connector
from tests.fake_provider import HOST, FakeProvider, install_fake
from tests.install_helpers import new_install, save_settings

CLIENT_SECRET = "fake-client-secret-sec-123"
CONSUMER_SECRET = "fake-consumer-secret-sec-123"
TOKEN_URL = f"{HOST}/token"
TOKEN_JSON = {"access_token": "fake-access-sec-1", "refresh_token": "fake-refresh-sec-1",
              "token_type": "Bearer", "expires_in": 3600}


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def fake_oauth2_connector(partner) -> Connector:
    connector = make_connector("fake-oauth2", {
        "name": "Fake OAuth", "description": "A fake OAuth 2.0 provider.",
        "auth": {"type": "oauth2", "authorize_url": f"{HOST}/authorize", "token_url": TOKEN_URL,
                 "revoke_url": f"{HOST}/revoke"},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True}],
    })
    save_settings(partner, connector, {"client_id": "fake-client-id"},
                  {"client_secret": CLIENT_SECRET})
    return connector


def fake_oauth1_connector(partner) -> Connector:
    connector = make_connector("fake-oauth1", {
        "name": "Fake OAuth1", "description": "A fake OAuth 1.0a provider.",
        "auth": {"type": "oauth1", "request_token_url": f"{HOST}/request_token",
                 "authorize_url": f"{HOST}/authorize", "access_token_url": f"{HOST}/access_token"},
        "fields": [{"key": "consumer_key", "label": "Consumer Key"},
                   {"key": "consumer_secret", "label": "Consumer Secret", "secret": True}],
    })
    save_settings(partner, connector, {"consumer_key": "fake-consumer-key"},
                  {"consumer_secret": CONSUMER_SECRET})
    return connector


@pytest.fixture
def oauth2_install(account) -> Install:
    return new_install(account, fake_oauth2_connector(account.partner), name="Fake CRM")


@pytest.fixture
def oauth1_install(account) -> Install:
    return new_install(account, fake_oauth1_connector(account.partner), name="Fake Photos")
