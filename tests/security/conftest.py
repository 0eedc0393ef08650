"""Fixtures for the SECURITY.md audit tests: an account, a fake OAuth 2.0 / 1.0a provider
(canned responses, see tests/fake_provider.py) with the partner's settings saved."""

from __future__ import annotations

import pytest

from accounts.models import Account
from installs.models import Install
from tests.factories import fake_oauth1_connector, fake_oauth2_connector, new_install
from tests.fake_provider import FakeProvider, install_fake


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


@pytest.fixture
def oauth2_install(account) -> Install:
    return new_install(account, fake_oauth2_connector(account.partner), name="Fake CRM")


@pytest.fixture
def oauth1_install(account) -> Install:
    return new_install(account, fake_oauth1_connector(account.partner), name="Fake Photos")
