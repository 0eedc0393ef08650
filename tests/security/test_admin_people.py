"""SECURITY.md "Admin for support staff": only superusers change people, and the Partner
form checks its origin lists like the Branding page (no CSP injection, no 500)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Partner, User
from tests.factories import PASSWORD, account, connector, make_link

STAFF_PASSWORD = "fake-staff-chosen-password-7q"


@pytest.fixture
def staff_client(db) -> Client:
    """Support staff holding every user and membership permission, but no superuser."""
    staff = User.objects.create_user(email="staff@hatchway.test", password=PASSWORD,
                                     is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="accounts", content_type__model__in=["user", "membership"]))
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def superuser_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="root@hatchway.test",
                                                     password=PASSWORD))
    return client


def test_staff_cannot_set_a_partner_admins_password(staff_client, alice):
    """The password change page is refused to staff with change_user; the password stays."""
    url = reverse("admin:auth_user_password_change", args=[alice.pk])
    response = staff_client.post(url, {"password1": STAFF_PASSWORD,
                                       "password2": STAFF_PASSWORD})
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD) and not alice.check_password(STAFF_PASSWORD)


def test_staff_cannot_grant_staff_or_superuser(staff_client, alice):
    """Editing a user (is_staff, is_superuser, email) is refused; the row is unchanged."""
    response = staff_client.post(reverse("admin:accounts_user_change", args=[alice.pk]), {
        "email": "staff@evil.test", "is_active": "on", "is_staff": "on", "is_superuser": "on",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    })
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.email == "alice@acme.test" and not alice.is_staff and not alice.is_superuser


def test_staff_cannot_add_users_or_join_a_partner(staff_client, partner):
    """Adding a user or a membership (joining a partner as its admin) is refused."""
    response = staff_client.post(reverse("admin:accounts_user_add"), {
        "email": "new@evil.test", "usable_password": "true",
        "password1": STAFF_PASSWORD, "password2": STAFF_PASSWORD,
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    })
    assert response.status_code == 403
    staff = User.objects.get(email="staff@hatchway.test")
    response = staff_client.post(reverse("admin:accounts_membership_add"), {
        "user": staff.pk, "partner": partner.pk, "role": "admin"})
    assert response.status_code == 403
    assert not User.objects.filter(email="new@evil.test").exists()
    assert not Membership.objects.filter(user=staff).exists()


def test_staff_still_view_users_read_only(staff_client, alice):
    """View permission keeps the change page readable, with no way to save it."""
    response = staff_client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "alice@acme.test" in html and 'name="_save"' not in html


def test_superusers_change_passwords(superuser_client, alice):
    """A superuser may still set a password."""
    response = superuser_client.post(reverse("admin:auth_user_password_change",
                                             args=[alice.pk]), {
        "password1": STAFF_PASSWORD, "password2": STAFF_PASSWORD})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(STAFF_PASSWORD)


# --- the Partner form's origin lists ------------------------------------------------------


def partner_data(partner: Partner, **origins: str) -> dict[str, str]:
    return {"name": partner.name, "slug": partner.slug, "display_name": partner.display_name,
            "primary_colour": partner.primary_colour, "support_email": partner.support_email,
            "allowed_return_origins": "[]", "allowed_frame_origins": "[]", **origins}


@pytest.mark.parametrize("value", [
    '["https://app.acme.test; script-src *"]', '["*"]', '"https://app.acme.test"',
    '{"origin": "https://app.acme.test"}', '["app.acme.test"]', '["https://app.acme.test/x"]',
    '[42]', '["http://evil.example"]',
])
@pytest.mark.parametrize("field", ["allowed_frame_origins", "allowed_return_origins"])
def test_partner_admin_refuses_bad_origins(superuser_client, partner, field, value):
    """A ';', a '*', a non-list or a non-origin is a form error; nothing is stored."""
    response = superuser_client.post(reverse("admin:accounts_partner_change", args=[partner.pk]),
                                     partner_data(partner, **{field: value}))
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    partner.refresh_from_db()
    assert getattr(partner, field) == []


def test_partner_admin_stores_canonical_origins(superuser_client, partner):
    """Good origins are stored in canonical form (as the Branding page stores them)."""
    response = superuser_client.post(
        reverse("admin:accounts_partner_change", args=[partner.pk]),
        partner_data(partner, allowed_frame_origins='["HTTPS://App.Acme.test:443/"]'))
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.allowed_frame_origins == ["https://app.acme.test"]


@pytest.mark.parametrize("stored", [
    ["https://app.acme.test", "https://x.test; script-src *", "*", 7],
    "https://app.acme.test; script-src *",
    {"https://app.acme.test": 1},
])
def test_frame_ancestors_only_from_parsed_origins(client, partner, stored):
    """A bad value stored past the forms never reaches the CSP header, nor causes a 500."""
    acct = account(partner)
    link, token = make_link(acct, [connector("crm-one", "CRM One", partner)])
    Partner.objects.filter(pk=partner.pk).update(allowed_frame_origins=stored,
                                                 allowed_return_origins=stored)
    response = client.get(reverse("install:landing", args=[token]))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    ancestors = next(d for d in csp.split(";") if "frame-ancestors" in d).split()[1:]
    assert ancestors in (["https://app.acme.test"], ["'none'"])
    assert "script-src *" not in csp and " * " not in f" {' '.join(ancestors)} "
    assert ancestors == (["https://app.acme.test"] if isinstance(stored, list) else ["'none'"])
