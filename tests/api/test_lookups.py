"""`api.lookups`: the credentials read's install lookup gives the ORM's own answer, in one query."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model

from api.lookups import INSTALL_WITH_SECRETS
from connectors.models import PartnerAuthSettings
from installs.models import Install
from sandbox.seeding import seed_due_installs

LOOKUP = INSTALL_WITH_SECRETS


def with_settings(install: int, partner: int) -> Any:
    """The same install as the ORM loads it: the answer to compare with."""
    return (Install.objects.filter(pk=install, account__partner_id=partner)
            .select_related("account", "connector").with_saved_settings().get())


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
    Install.objects.filter(pk=install.pk).update(values={"subdomain": "acme"},
                                                 token_info={"scope": "read"})
    expected = with_settings(install.pk, partner.pk)
    with django_assert_num_queries(1):
        found = LOOKUP.get(install=install.pk, partner=partner.pk)
        assert loaded(found) == loaded(expected)
    assert found.values == {"subdomain": "acme"}
    assert found.credentials["access_token"] == install.credentials["access_token"]
    assert found.saved_settings.secret_values == {"client_secret": seeded.client_secret}  # type: ignore[attr-defined]
    assert found.expires_at is not None and found.expires_at.utcoffset() is not None
    assert not found._state.adding and found._state.db == "default"
    found.name = "Renamed by the lookup's instance"
    found.save(update_fields=["name"])
    assert Install.objects.get(pk=install.pk).name == "Renamed by the lookup's instance"


def test_no_saved_settings_are_none_as_in_the_orm(seeded, partner):
    PartnerAuthSettings.objects.filter(partner=partner).delete()
    install = seeded.installs[1]
    found = LOOKUP.get(install=install.pk, partner=partner.pk)
    expected = with_settings(install.pk, partner.pk)
    assert getattr(found, "saved_settings", None) is None
    assert hasattr(found, "saved_settings") == hasattr(expected, "saved_settings")
    assert loaded(found) == loaded(expected)


def test_unreadable_secrets_are_marked_as_in_the_orm(seeded, partner, settings):
    """Under a key that no longer decrypts them: the same "unreadable" marker, not a 500."""
    settings.FERNET_KEYS = ["an entirely different key"]
    install = seeded.installs[0]
    found = LOOKUP.get(install=install.pk, partner=partner.pk)
    expected = with_settings(install.pk, partner.pk)
    assert type(found.credentials) is type(expected.credentials)
    assert found.credentials == expected.credentials


def test_another_partners_install_is_not_found(seeded, other_partner):
    with pytest.raises(Install.DoesNotExist):
        LOOKUP.get(install=seeded.installs[0].pk, partner=other_partner.pk)


def test_a_missing_install_is_not_found(db, partner):
    with pytest.raises(Install.DoesNotExist):
        LOOKUP.get(install=10**9, partner=partner.pk)


@pytest.mark.parametrize("lookup", [{"install": 1}, {"install": 1, "partner": 1, "account": 1}])
def test_it_takes_the_install_and_the_partner(db, lookup):
    with pytest.raises(TypeError):
        LOOKUP.get(**lookup)
