"""`core.rows`: instances from hand-written SQL equal the ORM's, or the model is refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts.models import Account
from connectors.models import Connector
from core import rows
from sandbox.models import SandboxToken


def test_an_instance_equals_the_orm_s(partner):
    """Every column, the datetime aware, loaded as from the database (not `adding`)."""
    account = Account.objects.create(partner=partner, name="Northwind", external_id="n-1")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {rows.columns(Account, 'a')} FROM {rows.table(Account)} a "  # noqa: S608
                       "WHERE a.id = %s", [account.pk])
        found = rows.instance(Account, cursor.fetchone(), connection)
    expected = Account.objects.get(pk=account.pk)
    assert [getattr(found, f.attname) for f in Account._meta.concrete_fields] == \
        [getattr(expected, f.attname) for f in Account._meta.concrete_fields]
    assert found.created_at.utcoffset() is not None
    assert not found._state.adding and found._state.db == "default"


def test_split_cuts_a_row_into_each_model_s_columns():
    width = len(rows.fields(Account))
    row = tuple(range(width * 2))
    assert [tuple(part) for part in rows.split(row, Account, Account)] == \
        [row[:width], row[width:]]


def test_booleans_are_booleans_as_in_the_orm(db):
    """SQLite returns 0 and 1: loaded as False and True, as the ORM loads them."""
    connector = Connector.objects.create(slug="flags", name="Flags", description="",
                                         auth_type="none", spec_data={},
                                         needs_partner_settings=True, is_example=False)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {rows.columns(Connector, 'c')} FROM {rows.table(Connector)} c "  # noqa: S608
                       "WHERE c.id = %s", [connector.pk])
        found = rows.instance(Connector, cursor.fetchone(), connection)
    assert (found.needs_partner_settings, found.is_example) == (True, False)
    assert type(found.needs_partner_settings) is bool


def test_a_model_whose_fields_need_another_conversion_is_refused():
    """A UUID (text on SQLite) would load wrong: refused, not loaded."""
    with pytest.raises(ImproperlyConfigured, match="SandboxToken.grant"):
        rows.columns(SandboxToken, "t")
