"""Editing an account in the console: rename, change the external id (warned), audited."""

from __future__ import annotations

from audit.models import AuditEvent
from tests.factories import account as make_account


def test_rename_and_change_external_id(admin_client, partner, alice):
    acme = make_account(partner, name="Acme", external_id="acme-1")
    form = admin_client.get(f"/accounts/{acme.pk}/edit/").content.decode()
    assert 'value="Acme"' in form and "calls with the old id get 404" in form
    response = admin_client.post(f"/accounts/{acme.pk}/edit/",
                                 {"name": "Acme Ltd", "external_id": "acme-2"})
    assert response["Location"] == f"/accounts/{acme.pk}/"
    acme.refresh_from_db()
    assert (acme.name, acme.external_id) == ("Acme Ltd", "acme-2")
    event = AuditEvent.objects.get(action="account.updated")
    assert event.actor == alice and event.detail["fields"] == ["external_id", "name"]


def test_keeping_the_external_id_is_not_a_duplicate(admin_client, partner):
    acme = make_account(partner, name="Acme", external_id="acme-1")
    admin_client.post(f"/accounts/{acme.pk}/edit/", {"name": "Acme 2", "external_id": "acme-1"})
    acme.refresh_from_db()
    assert acme.name == "Acme 2"


def test_another_accounts_external_id_is_refused(admin_client, partner):
    acme = make_account(partner, name="Acme", external_id="acme-1")
    make_account(partner, name="Globex", external_id="globex-1")
    response = admin_client.post(f"/accounts/{acme.pk}/edit/",
                                 {"name": "Acme", "external_id": "globex-1"})
    assert "An account with this external id already exists." in response.content.decode()
    acme.refresh_from_db()
    assert acme.external_id == "acme-1"
    assert not AuditEvent.objects.filter(action="account.updated").exists()


def test_viewers_and_other_partners_cannot_edit(viewer_client, other_client, partner):
    acme = make_account(partner, name="Acme", external_id="acme-1")
    data = {"name": "Hacked", "external_id": "x"}
    assert viewer_client.get(f"/accounts/{acme.pk}/edit/").status_code == 403
    assert viewer_client.post(f"/accounts/{acme.pk}/edit/", data).status_code == 403
    assert other_client.post(f"/accounts/{acme.pk}/edit/", data).status_code == 404
    acme.refresh_from_db()
    assert acme.name == "Acme"
