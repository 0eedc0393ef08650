"""Shared fixtures: personas (alice the admin, victor the viewer, mallory at another
partner), catalogue connectors, and the in-process sandbox transport."""

from __future__ import annotations

import io

import pytest
from django.core.cache import caches
from django.test import Client

from accounts.models import Membership, Partner, User
from config.log_format import JsonFormatter
from connectors.cards import LISTINGS_ALIAS
from connectors.sync import sync_catalog
from core.metrics import forget_gauges
from tests.factories import capture_console, client_for, make_member

pytest_plugins = ["tests.link_fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    """Passwords hashed with one MD5 round in tests: the production hasher (PBKDF2, a
    million iterations, by design slow) cost CI minutes of pure hashing for the users the
    tests create and sign in. What is tested is who may sign in, not the hash's cost; the
    production setting is checked in tests/config/test_settings.py."""
    from django.conf import settings
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def partner(db) -> Partner:
    return Partner.objects.create(name="Acme Cloud", slug="acme", display_name="Acme",
                                  primary_colour="#aa3300", support_email="help@acme.test")


@pytest.fixture
def other_partner(db) -> Partner:
    return Partner.objects.create(name="Globex", slug="globex")


@pytest.fixture
def alice(partner) -> User:
    return make_member(partner, "alice@acme.test", Membership.Role.ADMIN)


@pytest.fixture
def victor(partner) -> User:
    return make_member(partner, "victor@acme.test", Membership.Role.VIEWER)


@pytest.fixture
def mallory(other_partner) -> User:
    return make_member(other_partner, "mallory@globex.test", Membership.Role.ADMIN)


@pytest.fixture
def admin_client(alice) -> Client:
    return client_for(alice)


@pytest.fixture
def viewer_client(victor) -> Client:
    return client_for(victor)


@pytest.fixture
def other_client(mallory) -> Client:
    return client_for(mallory)


@pytest.fixture(autouse=True)
def fresh_listings() -> None:
    """Each test starts with no cached catalogue listing, as its database starts fresh, and
    no throttle counts (core/throttle.py: the default cache) from earlier tests."""
    caches[LISTINGS_ALIAS].clear()
    caches["default"].clear()
    forget_gauges()  # and no cached /metrics gauges (core/metrics.py)


@pytest.fixture
def catalog(db) -> None:
    """The real catalogue, synced."""
    sync_catalog()


@pytest.fixture
def sandbox_transport(monkeypatch, settings):
    """Route all outbound HTTP to this app in-process, so the sandbox answers."""
    from connectors import http
    from tests.wsgi_transport import WSGITransport

    WSGITransport.calls = []
    monkeypatch.setattr(http, "transport", WSGITransport)
    return WSGITransport


@pytest.fixture
def json_log(monkeypatch) -> io.StringIO:
    """What the console handler writes with LOG_FORMAT=json."""
    return capture_console(monkeypatch, JsonFormatter())
