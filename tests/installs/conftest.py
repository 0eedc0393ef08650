"""Fixtures for the token refresh tests: an OAuth 2.0 install and a fake auth method."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone
from fernet_fields import hkdf

from accounts.models import Account, Partner
from connectors.auth.base import Credentials
from connectors.models import Connector
from connectors.spec import CATALOG_DIR
from installs import refresh
from installs.models import Install
from tests.factories import make_connector


def sandbox_oauth2_connector() -> Connector:
    data = tomllib.loads((CATALOG_DIR / "sandbox-oauth2.toml").read_text())
    return Connector.objects.filter(slug="sandbox-oauth2").first() or make_connector(
        "sandbox-oauth2", data)


def make_install(account: Account, connector: Connector, *, expires_in: float = 60,
                 status: str = Install.Status.AUTHENTICATED, n: int = 1,
                 **fields: Any) -> Install:
    """An authenticated OAuth 2.0 install whose token expires in `expires_in` seconds."""
    defaults = {
        "credentials": {"access_token": f"fake-access-{n}", "refresh_token": f"fake-refresh-{n}",
                        "token_type": "Bearer"},
        "expires_at": timezone.now() + timedelta(seconds=expires_in),
        "name": f"Install {n}",
    }
    defaults.update(fields)
    return Install.objects.create(account=account, connector=connector, status=status,
                                  **defaults)


@pytest.fixture
def account(partner: Partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def connector(db) -> Connector:
    return sandbox_oauth2_connector()


@pytest.fixture
def install(account: Account, connector: Connector) -> Install:
    return make_install(account, connector)


@dataclass
class FakeMethod:
    """Stands in for `installs.values.method_for(install)`: scripted refresh outcomes.

    Each call pops the next item of `script`: an exception to raise, a dict of new
    credentials to return, or None for a fresh rotated token pair.
    """

    refreshes: bool = True
    script: list[Any] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    lifetime: timedelta = timedelta(hours=1)
    side_effect: Any = None

    def can_refresh(self, credentials: dict[str, Any]) -> bool:
        return self.refreshes

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        self.calls.append(dict(credentials))
        if self.side_effect:
            self.side_effect(credentials)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, BaseException):
            raise outcome
        n = len(self.calls)
        data = outcome if outcome is not None else {
            "access_token": f"fake-new-access-{n}", "refresh_token": f"fake-new-refresh-{n}",
            "token_type": "Bearer"}
        return Credentials(data=data, expires_at=now_plus(self.lifetime))


def foreign_ciphertext(value: dict[str, Any], key: str = "fake-unknown-fernet-key") -> bytes:
    """A well-formed Fernet token under a key Hatchway does not have."""
    return Fernet(hkdf.derive_fernet_key(key)).encrypt(json.dumps(value).encode())


def now_plus(delta: timedelta) -> datetime:
    return timezone.now() + delta


@pytest.fixture
def fake_method(monkeypatch) -> FakeMethod:
    method = FakeMethod()
    monkeypatch.setattr(refresh, "method_for", lambda install, **kwargs: method)
    return method
