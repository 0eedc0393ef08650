"""The move to memberships per partner keeps every existing member in their partner."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_existing_members_keep_working_in_their_partner(migrator):
    """A user with the one membership of before works in it after the migration."""
    old = migrator.apply_initial_migration(("accounts", "0004_partner_auth_settings_version"))
    Partner = old.apps.get_model("accounts", "Partner")
    User = old.apps.get_model("accounts", "User")
    Membership = old.apps.get_model("accounts", "Membership")
    partner = Partner.objects.create(name="Acme", slug="acme")
    user = User.objects.create(email="alice@acme.test", password="x")
    loner = User.objects.create(email="loner@acme.test", password="x")
    membership = Membership.objects.create(user=user, partner=partner, role="admin")
    new = migrator.apply_tested_migration(("accounts", "0005_memberships_per_partner"))
    User = new.apps.get_model("accounts", "User")
    assert User.objects.get(pk=user.pk).current_membership_id == membership.pk
    assert User.objects.get(pk=loner.pk).current_membership_id is None
    assert User.objects.get(pk=user.pk).session_epoch == 0
