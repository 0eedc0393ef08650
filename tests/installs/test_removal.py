"""installs.removal: what deauthenticating and deleting leave behind when no revocation call
is possible. (Revocations the provider takes, refuses or cannot take now:
tests/installs/test_revocation.py, against the sandbox.)"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.fields import Unreadable
from installs.models import Install, PendingRevocation
from installs.removal import deauthenticate, delete_install
from tests import factories
from tests.installs.conftest import foreign_ciphertext, make_install

pytestmark = pytest.mark.django_db


def test_deauthenticating_without_credentials_has_nothing_to_revoke(install, alice):
    Install.objects.filter(pk=install.pk).update(credentials={})
    assert deauthenticate(install=install, actor=alice) == "nothing_to_revoke"
    install.refresh_from_db()
    assert install.status == Install.Status.DEAUTHENTICATED and install.expires_at is None
    event = AuditEvent.objects.get(action="install.deauthenticated")
    assert event.actor == alice and event.detail == {"revocation": "nothing_to_revoke"}
    assert not PendingRevocation.objects.exists()


def test_unreadable_credentials_are_cleared_without_a_call(install, alice):
    foreign = foreign_ciphertext({"refresh_token": "fake-refresh-1"})
    Install.objects.filter(pk=install.pk).update(credentials=Unreadable(foreign))
    stale = Install.objects.get(pk=install.pk)
    assert deauthenticate(install=stale, actor=alice) == "nothing_to_revoke"
    assert Install.objects.get(pk=install.pk).credentials == {}


def test_a_connector_without_revocation_is_cleared_locally(account, partner, alice):
    connector = factories.connector("acme-crm", "Acme CRM", partner)
    assert not connector.spec.auth.revoke_url
    install = make_install(account, connector)
    assert deauthenticate(install=install, actor=alice, actor_label="api key") == (
        "not_supported")
    install.refresh_from_db()
    assert install.credentials == {} and install.status == Install.Status.DEAUTHENTICATED


def test_deleting_removes_the_row_and_audits_what_it_was(install, alice):
    Install.objects.filter(pk=install.pk).update(credentials={})
    pk, name = install.pk, install.name
    assert delete_install(install=install, actor=alice) == "nothing_to_revoke"
    assert not Install.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action="install.deleted")
    assert event.actor == alice and event.account == install.account
    assert event.detail == {"install_id": pk, "revocation": "nothing_to_revoke", "name": name,
                            "status": "authenticated"}


def test_an_install_deleted_meanwhile_is_nothing_to_do(install, alice):
    stale = Install.objects.get(pk=install.pk)
    Install.objects.filter(pk=install.pk).delete()
    assert delete_install(install=stale, actor=alice) == "nothing_to_revoke"
    assert deauthenticate(install=stale, actor=alice) == "nothing_to_revoke"
    assert not AuditEvent.objects.filter(action__in=["install.deleted",
                                                     "install.deauthenticated"]).exists()
