"""SECURITY.md "Admin for support staff": deleting an account or an install in the admin
goes through the console's services -- revoked at the provider (or kept for the workers'
retry) and audited -- and what would cascade installs away unrevoked is not offered."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Partner, User
from audit.models import AuditEvent
from installs.models import Install, PendingRevocation
from links import services as links
from links.models import InstallLink
from tests.factories import PASSWORD, new_install
from tests.fake_provider import HOST

REVOKE_URL = f"{HOST}/revoke"


@pytest.fixture
def support_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="support@hatchway.test",
                                                     password=PASSWORD))
    return client


def authenticated(install: Install, refresh_token: str = "fake-refresh-admin-1") -> Install:
    Install.objects.filter(pk=install.pk).update(
        status=Install.Status.AUTHENTICATED,
        credentials={"access_token": "fake-access-admin-1", "refresh_token": refresh_token})
    return Install.objects.get(pk=install.pk)


def revoked_tokens(fake) -> list[str]:
    return [call.body.decode() if isinstance(call.body, bytes) else call.body
            for call in fake.calls_to(REVOKE_URL)]


def test_deleting_an_install_revokes_and_audits(support_client, fake, oauth2_install):
    """The admin's delete page revokes the refresh token at the provider and audits it."""
    install = authenticated(oauth2_install)
    fake.add("POST", REVOKE_URL, status=200)
    response = support_client.post(reverse("admin:installs_install_delete", args=[install.pk]),
                                   {"post": "yes"})
    assert response.status_code == 302
    assert not Install.objects.filter(pk=install.pk).exists()
    assert "fake-refresh-admin-1" in revoked_tokens(fake)[0]
    event = AuditEvent.objects.get(action="install.deleted")
    assert event.detail == {"install_id": install.pk, "revocation": "revoked",
                            "name": install.name, "status": Install.Status.AUTHENTICATED}
    assert event.actor.email == "support@hatchway.test"


def test_bulk_delete_of_installs_schedules_the_retry(support_client, fake, account,
                                                     oauth2_install):
    """"Delete selected": each install goes through the service; a 503 keeps a retry."""
    first = authenticated(oauth2_install)
    second = authenticated(new_install(account, first.connector, name="Second"),
                           refresh_token="fake-refresh-admin-2")
    fake.add("POST", REVOKE_URL, status=503)
    response = support_client.post(reverse("admin:installs_install_changelist"), {
        "action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Install.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert len(fake.calls_to(REVOKE_URL)) == 2
    assert PendingRevocation.objects.count() == 2
    assert AuditEvent.objects.filter(action="install.deleted").count() == 2
    assert AuditEvent.objects.filter(action="install.revocation_pending").count() == 2


def test_deleting_an_account_deletes_each_install_through_the_service(support_client, fake,
                                                                      account, oauth2_install):
    """An account's deletion revokes every install, audits each, then the account."""
    install = authenticated(oauth2_install)
    fake.add("POST", REVOKE_URL, status=200)
    response = support_client.post(reverse("admin:accounts_account_delete", args=[account.pk]),
                                   {"post": "yes"})
    assert response.status_code == 302
    assert not Account.objects.filter(pk=account.pk).exists()
    assert len(fake.calls_to(REVOKE_URL)) == 1
    assert AuditEvent.objects.get(action="install.deleted").detail["install_id"] == install.pk
    event = AuditEvent.objects.get(action="account.deleted")
    assert event.detail == {"account_id": account.pk, "installs": 1,
                            "external_id": account.external_id, "name": account.name}


def test_bulk_delete_of_accounts_goes_through_the_service(support_client, fake, account,
                                                          oauth2_install):
    """"Delete selected" on accounts revokes their installs too."""
    authenticated(oauth2_install)
    fake.add("POST", REVOKE_URL, status=200)
    response = support_client.post(reverse("admin:accounts_account_changelist"), {
        "action": "delete_selected", "_selected_action": [account.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Account.objects.exists() and not Install.objects.exists()
    assert len(fake.calls_to(REVOKE_URL)) == 1
    assert AuditEvent.objects.filter(action="account.deleted").count() == 1


def test_a_partner_with_accounts_cannot_be_deleted(support_client, fake, partner, account,
                                                   oauth2_install):
    """The cascade would drop installs unrevoked: the page refuses, nothing is deleted."""
    authenticated(oauth2_install)
    url = reverse("admin:accounts_partner_delete", args=[partner.pk])
    page = support_client.get(url).content.decode()
    assert "delete its accounts first" in page
    response = support_client.post(url, {"post": "yes"})
    assert response.status_code == 200 and "delete its accounts first" in response.content.decode()
    assert Partner.objects.filter(pk=partner.pk).exists() and Install.objects.exists()
    response = support_client.post(reverse("admin:accounts_partner_changelist"), {
        "action": "delete_selected", "_selected_action": [partner.pk], "post": "yes"})
    assert Partner.objects.filter(pk=partner.pk).exists() and Install.objects.exists()
    assert fake.calls_to(REVOKE_URL) == []


def test_install_links_are_revoked_in_the_console_not_deleted(support_client, account,
                                                              oauth2_install):
    """Deleting a link would let the sign-ins it started finish: not offered here."""
    link, _token = links.create_link(account=account, connectors=[oauth2_install.connector])
    response = support_client.post(reverse("admin:links_installlink_delete", args=[link.pk]),
                                   {"post": "yes"})
    assert response.status_code == 403
    assert InstallLink.objects.filter(pk=link.pk, revoked_at__isnull=True).exists()
    page = support_client.get(reverse("admin:links_installlink_change", args=[link.pk]))
    assert "Revoke install links in the console" in page.content.decode()


def pending_revocation(partner: Partner, connector) -> PendingRevocation:
    from django.utils import timezone

    return PendingRevocation.objects.create(
        partner=partner, connector=connector, credentials={"access_token": "fake-pending-1"},
        values={}, next_attempt_at=timezone.now())


def test_a_partner_with_pending_revocations_cannot_be_deleted(support_client, partner):
    """Its custom connector's revocation still pending (the connector is PROTECTed by it):
    the page refuses with the reason, not a ProtectedError; nothing is deleted."""
    from tests.connectors.test_custom_console import make_custom

    connector = make_custom(partner)
    pending = pending_revocation(partner, connector)
    url = reverse("admin:accounts_partner_delete", args=[partner.pk])
    response = support_client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "1 token revocation(s) are still pending at the providers" in page
    assert "fake-pending-1" not in page
    response = support_client.post(url, {"post": "yes"})
    assert response.status_code == 200 and "still pending" in response.content.decode()
    response = support_client.post(reverse("admin:accounts_partner_changelist"), {
        "action": "delete_selected", "_selected_action": [partner.pk], "post": "yes"})
    assert response.status_code == 200 and "still pending" in response.content.decode()
    assert Partner.objects.filter(pk=partner.pk).exists()
    assert PendingRevocation.objects.filter(pk=pending.pk).exists()
    assert partner.custom_connectors.filter(pk=connector.pk).exists()

