"""seed_demo: the README's first command leaves a usable demo behind, and can run twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, Membership, User
from connectors.models import PartnerAuthSettings


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_a_partner_admin_account_and_sandbox_settings(catalog):
    """The admin can log in with the printed password; sandbox connectors are configured."""
    output = seed()
    password = output.split("admin@demo.example / ")[1].split()[0]
    user = User.objects.get(email="admin@demo.example")
    assert user.check_password(password)
    assert user.membership.role == Membership.Role.ADMIN
    assert Account.objects.filter(partner=user.membership.partner, external_id="cust-001").exists()
    configured = set(PartnerAuthSettings.objects.filter(saved_at__isnull=False)
                     .values_list("connector__slug", flat=True))
    assert configured == {"sandbox-oauth2", "sandbox-oauth1", "sandbox-client-credentials",
                          "sandbox-api-key", "sandbox-basic", "sandbox-two-step",
                          "sandbox-github-app"}
    settings_row = PartnerAuthSettings.objects.get(connector__slug="sandbox-oauth2")
    assert settings_row.value("client_id") and settings_row.value("client_secret")
    assert settings_row.value("client_secret") not in output


def test_seed_demo_is_idempotent(catalog):
    """A second run reuses everything and only issues a new admin password."""
    seed()
    first = list(PartnerAuthSettings.objects.order_by("pk").values_list("pk", "secret_values"))
    output = seed()
    assert list(PartnerAuthSettings.objects.order_by("pk").values_list("pk", "secret_values")) \
        == first
    assert User.objects.count() == 1 and Account.objects.count() == 1
    password = output.split("admin@demo.example / ")[1].split()[0]
    assert User.objects.get().check_password(password)


def test_seed_demo_needs_the_catalogue(db):
    """Without sync_connectors first, it stops with a clear message."""
    with pytest.raises(CommandError, match="sync_connectors"):
        seed()
