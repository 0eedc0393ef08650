"""`PreparedLookup` and `CompiledQuery`: the ORM's own answer, in one query, compiled once."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Model
from django.db.transaction import TransactionManagementError

from api.views import INSTALL_WITH_SECRETS
from connectors.models import PartnerAuthSettings
from core.prepared import CompiledQuery, PreparedLookup
from installs.models import Install
from tests.installs.seed import seed_due_installs

# The API's install lookup (account, connector and the partner's settings joined), and the
# same queryset evaluated by the ORM as the answer to compare with.
LOOKUP = INSTALL_WITH_SECRETS
with_settings = INSTALL_WITH_SECRETS.build


@pytest.fixture
def seeded(partner):
    return seed_due_installs(partner, 2, expires_in=3600)


def values(instance: Model | None) -> dict[str, Any] | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def loaded(install: Install) -> tuple[Any, ...]:
    # The ORM sets no `saved_settings` when none matched (installs.values.Setup allows for it).
    return (values(install), values(install.account), values(install.connector),
            values(getattr(install, "saved_settings", None)))


def test_the_same_instances_as_the_orm_in_one_query(seeded, partner,
                                                    django_assert_num_queries):
    """Every column of the install and of what it joins, decrypted where encrypted, with
    nothing loaded later; the instance saves like any other."""
    install = seeded.installs[0]
    expected = with_settings(install.pk, partner.pk).get()
    with django_assert_num_queries(1):
        found = LOOKUP.get(install=install.pk, partner=partner.pk)
        assert loaded(found) == loaded(expected)
    assert found.credentials["access_token"] == install.credentials["access_token"]
    assert found.saved_settings.secret_values == {"client_secret": seeded.client_secret}  # type: ignore[attr-defined]
    assert not found._state.adding and found._state.db == "default"
    found.name = "Renamed by the lookup's instance"
    found.save(update_fields=["name"])
    assert Install.objects.get(pk=install.pk).name == "Renamed by the lookup's instance"


def test_no_saved_settings_are_none_as_in_the_orm(seeded, partner):
    PartnerAuthSettings.objects.filter(partner=partner).delete()
    install = seeded.installs[1]
    found = LOOKUP.get(install=install.pk, partner=partner.pk)
    expected = with_settings(install.pk, partner.pk).get()
    assert getattr(found, "saved_settings", None) is None
    assert hasattr(found, "saved_settings") == hasattr(expected, "saved_settings")
    assert loaded(found) == loaded(expected)


def test_another_partners_install_is_not_found(seeded, other_partner):
    with pytest.raises(Install.DoesNotExist):
        LOOKUP.get(install=seeded.installs[0].pk, partner=other_partner.pk)


def test_several_rows_are_refused_as_get_does(seeded, partner):
    of_partner = PreparedLookup(Install, lambda partner: Install.objects.filter(
        account__partner_id=partner), "partner")
    with pytest.raises(Install.MultipleObjectsReturned):
        of_partner.get(partner=partner.pk)


def test_compiled_once_per_thread(seeded, partner, django_assert_num_queries):
    """The queryset is built at the first call of each thread, then only run."""
    built = []

    def build(install: int, partner: int) -> Any:
        built.append(threading.get_ident())
        return with_settings(install, partner)

    lookup = PreparedLookup(Install, build, "install", "partner")
    for install in seeded.installs:
        with django_assert_num_queries(1):
            assert lookup.get(install=install.pk, partner=partner.pk).pk == install.pk
    assert len(built) == 1

    def elsewhere() -> None:
        # Its own connection, which sees none of the test's uncommitted rows (nor, on
        # SQLite, its tables): what the query finds there is not the point.
        try:
            with contextlib.suppress(Exception):
                lookup.get(install=0, partner=partner.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(timeout=30)
    assert len(built) == 2 and built[1] != built[0]


@pytest.mark.parametrize("arguments", [
    {"install": 1}, {"install": 1, "partner": 1, "account": 1},
    {"install": "1", "partner": 1}, {"install": True, "partner": 1}, {"install": 1.0, "partner": 1},
])
def test_arguments_are_the_named_integers(db, arguments):
    with pytest.raises(TypeError):
        LOOKUP.get(**arguments)


def test_an_argument_the_sql_does_not_use_is_refused(db):
    lookup = PreparedLookup(Install, lambda install, partner: Install.objects.filter(pk=install),
                            "install", "partner")
    with pytest.raises(ImproperlyConfigured, match="must appear once"):
        lookup.get(install=1, partner=1)


def test_a_compiled_query_runs_as_first_does(seeded, partner, django_assert_num_queries):
    """The first row in the queryset's order at each run, compiled at the first only, with
    what it joins; None once nothing matches."""
    queryset = (Install.objects.filter(account__partner=partner).select_related("connector")
                .order_by("-pk"))
    claim = CompiledQuery(queryset)
    last, first = sorted(seeded.installs, key=lambda i: -i.pk)
    with django_assert_num_queries(1):
        found = claim.first()
        assert found is not None and found.connector.slug == last.connector.slug
    assert loaded(found)[:3] == loaded(queryset.first())[:3]
    compiled = claim._compiled
    Install.objects.filter(pk=last.pk).delete()
    assert claim.first().pk == first.pk and claim._compiled is compiled
    Install.objects.all().delete()
    assert claim.first() is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not connection.features.has_select_for_update,
                    reason="needs PostgreSQL row locks (SELECT … FOR UPDATE)")
def test_a_row_lock_outside_a_transaction_is_refused(partner):
    """As Django refuses it: compiled inside a transaction, then run outside one."""
    claim = CompiledQuery(Install.objects.select_for_update(skip_locked=True).order_by("pk"))
    with transaction.atomic():
        assert claim.first() is None
    with pytest.raises(TransactionManagementError):
        claim.first()


def test_prefetches_are_refused(db):
    claim = CompiledQuery(Install.objects.prefetch_related("account"))
    with pytest.raises(ImproperlyConfigured, match="prefetch"):
        claim.first()
