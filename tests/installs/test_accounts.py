"""installs.accounts: creating, changing and deleting customer accounts, audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Account
from audit.models import AuditEvent
from installs.accounts import (
    DuplicateExternalId,
    create_account,
    delete_account,
    update_account,
)
from installs.models import Install
from tests.installs.conftest import make_install

pytestmark = pytest.mark.django_db


def test_create_stores_nfc_and_audits(partner, alice):
    account = create_account(partner=partner, name="Café", external_id="cafe\u0301",
                             actor=alice)
    assert Account.objects.get(pk=account.pk).external_id == "caf\u00e9"
    event = AuditEvent.objects.get(action="account.created")
    assert event.account == account and event.actor == alice


def test_create_refuses_duplicates_in_any_normal_form(partner, other_partner):
    create_account(partner=partner, name="A", external_id="caf\u00e9", actor=None)
    with pytest.raises(DuplicateExternalId):
        create_account(partner=partner, name="B", external_id="cafe\u0301", actor=None)
    create_account(partner=other_partner, name="B", external_id="caf\u00e9", actor=None)
    assert Account.objects.count() == 2


@pytest.mark.parametrize("name, external_id", [("Evil\u202e", "ok"), ("Fine", "a/b")])
def test_create_refuses_hidden_characters_and_bad_ids(partner, name, external_id):
    with pytest.raises(ValidationError):
        create_account(partner=partner, name=name, external_id=external_id, actor=None)
    assert not Account.objects.exists() and not AuditEvent.objects.exists()


def test_update_changes_and_audits_only_what_differs(partner, alice):
    account = create_account(partner=partner, name="A", external_id="a-1", actor=None)
    update_account(account=account, actor=alice, name="A", external_id="a-1")
    assert not AuditEvent.objects.filter(action="account.updated").exists()
    update_account(account=account, actor=alice, name="Acme", external_id="a-1")
    assert Account.objects.get(pk=account.pk).name == "Acme"
    assert AuditEvent.objects.get(action="account.updated").detail == {"fields": ["name"]}


def test_update_refuses_another_accounts_id(partner):
    create_account(partner=partner, name="A", external_id="a-1", actor=None)
    second = create_account(partner=partner, name="B", external_id="b-1", actor=None)
    with pytest.raises(DuplicateExternalId):
        update_account(account=second, actor=None, external_id="a-1")
    assert Account.objects.get(pk=second.pk).external_id == "b-1"


def test_an_unchanged_legacy_id_is_kept(partner):
    account = Account.objects.create(partner=partner, name="Old", external_id="old/id")
    update_account(account=account, actor=None, name="Renamed", external_id="old/id")
    assert Account.objects.get(pk=account.pk).external_id == "old/id"
    with pytest.raises(ValidationError):
        update_account(account=account, actor=None, external_id="new/id")


def test_delete_removes_every_install_then_the_account(partner, alice, connector):
    account = create_account(partner=partner, name="A", external_id="a-1", actor=None)
    for n in (1, 2):
        make_install(account, connector, n=n, credentials={})
    assert delete_account(account=account, actor=alice) == ["nothing_to_revoke"] * 2
    assert not Account.objects.exists() and not Install.objects.exists()
    assert AuditEvent.objects.filter(action="install.deleted").count() == 2
    assert AuditEvent.objects.get(action="account.deleted").detail == {
        "account_id": account.pk, "external_id": "a-1", "name": "A", "installs": 2}
