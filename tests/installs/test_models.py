"""Each transition of an install or a pending revocation writes its own audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from connectors.auth.base import TransientError
from installs.models import Install, PendingRevocation

pytestmark = pytest.mark.django_db


def events(action: str) -> list[dict]:
    return [e.detail for e in AuditEvent.objects.filter(action=action)]


def test_a_failed_sign_in_marks_and_audits_itself(install, alice):
    """mark_auth_failed: a working install keeps its status; the event names kind and stage."""
    install.mark_auth_failed(error="Refused.", kind="token_error", stage="complete",
                             actor=alice)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED and install.last_error == "Refused."
    event = AuditEvent.objects.get(action="install.auth_failed")
    assert event.actor == alice and event.install == install
    assert event.detail == {"kind": "token_error", "stage": "complete"}


def test_a_connection_check_audits_pass_and_failure(install):
    """mark_verify_failed sets Error with its event; mark_verified clears it with its own."""
    install.mark_verify_failed(error="Rejected.", kind="verify_failed", actor_label="API key")
    assert Install.objects.get(pk=install.pk).status == Install.Status.ERROR
    assert events("install.verify_failed") == [{"kind": "verify_failed"}]
    install.mark_verified(actor_label="API key")
    assert Install.objects.get(pk=install.pk).status == Install.Status.AUTHENTICATED
    assert events("install.verified") == [{"status": "authenticated",
                                           "previous_status": "error"}]


def test_a_pending_revocation_audits_its_whole_life(install, alice):
    """schedule, postpone, then give_up: an event at the start and at the end, row gone."""
    row = PendingRevocation.schedule(install=install, credentials={"refresh_token": "fake-rt"},
                                     values={}, error=TransientError("Down."), actor=alice)
    assert row is not None
    assert events("install.revocation_pending")[0]["pending_id"] == row.pk
    row.attempts += 1
    assert row.postpone(now=timezone.now(), message="Down again.", kind="unavailable")
    assert PendingRevocation.objects.get().next_attempt_at > timezone.now() + timedelta(seconds=1)
    row.give_up(kind="not_supported")
    assert not PendingRevocation.objects.exists()
    assert events("install.revocation_failed")[0]["kind"] == "not_supported"


def test_a_revoked_pending_row_is_deleted_with_its_event(install):
    """mark_revoked: the row goes, the event names it."""
    row = PendingRevocation.schedule(install=install, credentials={"refresh_token": "fake-rt"},
                                     values={}, error=TransientError("Down."), actor=None)
    assert row is not None
    pending_id = row.pk
    row.mark_revoked()
    assert not PendingRevocation.objects.exists()
    assert events("install.revoked_later")[0]["pending_id"] == pending_id


def test_nothing_to_revoke_keeps_nothing(install):
    """schedule without credentials writes no row and no event."""
    assert PendingRevocation.schedule(install=install, credentials={}, values={},
                                      error=TransientError("Down."), actor=None) is None
    assert not AuditEvent.objects.exists()
