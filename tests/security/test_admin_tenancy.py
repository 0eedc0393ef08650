"""SECURITY.md "Admin": an object's tenant cannot be changed in the admin (an account's
partner, an install's account), and every admin change to a partner, an account or an
install is in the audit log."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import Account, User
from audit.models import AuditEvent
from installs.models import Install
from tests.factories import PASSWORD, catalogue_connector


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def add_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def staff_client(db) -> Client:
    """Support staff with only the account permissions."""
    staff = User.objects.create_user(email="staff@hatchway.test", password=PASSWORD,
                                     is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_account", "change_account", "add_account", "view_partner"]))
    client = Client()
    client.force_login(staff)
    return client


def test_an_account_cannot_be_moved_to_another_partner(staff_client, account, other_partner):
    """With change_account, a POST naming another partner leaves the account where it is;
    the name still changes (audited)."""
    response = staff_client.post(change_url(account), {
        "partner": other_partner.pk, "name": "Initech Ltd", "external_id": "cust-1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.partner_id != other_partner.pk and account.name == "Initech Ltd"
    assert other_partner.name not in staff_client.get(change_url(account)).content.decode()


def test_an_install_cannot_be_moved_to_another_account(support_client, account, partner):
    """The install admin changes nothing, its account included (a superuser too)."""
    other = Account.objects.create(partner=partner, name="Hooli", external_id="cust-2")
    install = Install.objects.create(account=account,
                                     connector=catalogue_connector("sandbox-api-key"))
    response = support_client.post(change_url(install), {"account": other.pk})
    assert response.status_code == 403
    install.refresh_from_db()
    assert install.account_id == account.pk


def test_admin_changes_are_audited(staff_client, support_client, account, partner):
    """Adding and changing an account, and changing a partner, each write an audit event
    naming the staff member and the fields (never values)."""
    staff_client.post(change_url(account), {"name": "Initech Ltd", "external_id": "cust-1",
                                            "partner": partner.pk})
    changed = AuditEvent.objects.get(action="account.updated")
    assert changed.account == account and changed.actor.email == "staff@hatchway.test"
    assert changed.detail["fields"] == ["name"] and changed.detail["via"] == "admin"
    assert "Initech Ltd" not in str(changed.detail)
    staff_client.post(add_url(Account), {"partner": partner.pk, "name": "Hooli",
                                         "external_id": "cust-2"})
    created = AuditEvent.objects.get(action="account.created")
    assert created.account.external_id == "cust-2" and created.partner == partner
    support_client.post(change_url(partner), {
        "name": partner.name, "slug": partner.slug, "display_name": "Acme Support",
        "primary_colour": partner.primary_colour or "#1a73e8",
        "support_email": "care@acme.test", "allowed_return_origins": "[]",
        "allowed_frame_origins": "[]"})
    partner_event = AuditEvent.objects.get(action="partner.updated")
    assert partner_event.partner == partner
    assert {"display_name", "support_email"} <= set(partner_event.detail["fields"])
    assert "name" not in partner_event.detail["fields"]


@pytest.fixture
def support_client(db) -> Client:
    superuser = User.objects.create_superuser(email="support@hatchway.test", password=PASSWORD)
    client = Client()
    client.force_login(superuser)
    return client


