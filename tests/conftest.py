"""Shared fixtures: personas (alice the admin, victor the viewer, mallory at another
partner), catalogue connectors, and the in-process sandbox transport."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from accounts.models import Membership, Partner, User
from config.log_format import JsonFormatter
from config.log_scrub import ScrubSecretsFilter
from connectors.cards import LISTINGS_ALIAS
from connectors.models import Catalogue, Connector
from connectors.spec import validate
from connectors.sync import is_example, needs_partner_settings, sync_catalog

pytest_plugins = ["tests.link_fixtures"]

PASSWORD = "correct-horse-battery-staple-test"


def make_member(partner: Partner, email: str, role: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD)
    # Working in that partner, as the login (teams.members.after_login) would choose.
    user.current_membership = Membership.objects.create(user=user, partner=partner, role=role)
    user.save(update_fields=["current_membership"])
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


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


def make_connector(slug: str, data: dict[str, Any]) -> Connector:
    """A Connector row from catalogue data (validated exactly like a catalogue file)."""
    data = validate(f"{slug}.toml", slug, data)
    connector = Connector.objects.create(
        slug=slug, name=data["name"], description=data["description"],
        category_names=data.get("categories", []), auth_type=data["auth"]["type"],
        spec_data=data, search_text=data["name"].lower(),
        needs_partner_settings=needs_partner_settings(data), is_example=is_example(data),
    )
    Catalogue.changed()  # as a sync would
    return connector


@pytest.fixture(autouse=True)
def fresh_listings() -> None:
    """Each test starts with no cached catalogue listing, as its database starts fresh."""
    caches[LISTINGS_ALIAS].clear()


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


def raw_value(instance: Any, field_name: str) -> bytes | None:
    """The stored bytes of one column, read with SQL (no decryption on the way)."""
    from django.db import connection

    meta = instance._meta
    column = meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "{column}" FROM "{meta.db_table}" WHERE "{meta.pk.column}" = %s',
            [instance.pk],
        )
        value = cursor.fetchone()[0]
    return None if value is None else bytes(value)


def write_raw_value(instance: Any, field_name: str, value: bytes) -> None:
    """Overwrite one column's stored bytes with SQL (to simulate tampering)."""
    from django.db import connection

    meta = instance._meta
    column = meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{meta.db_table}" SET "{column}" = %s WHERE "{meta.pk.column}" = %s',
            [value, instance.pk],
        )


def capture_console(monkeypatch: pytest.MonkeyPatch, formatter: logging.Formatter) -> io.StringIO:
    """Make the settings' console handler, its filters included, write to a buffer."""
    handler = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, ScrubSecretsFilter) for f in h.filters))
    buffer = io.StringIO()
    monkeypatch.setattr(handler, "stream", buffer)
    monkeypatch.setattr(handler, "formatter", formatter)
    return buffer


@pytest.fixture
def json_log(monkeypatch) -> io.StringIO:
    """What the console handler writes with LOG_FORMAT=json."""
    return capture_console(monkeypatch, JsonFormatter())
