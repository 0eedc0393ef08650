"""audit.events: what an event records, and one counted event per actor, install and minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from audit import events
from audit.models import Action, AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

READ = Action.INSTALL_CREDENTIALS_READ


@pytest.fixture
def install(partner):
    account = factories.account(partner)
    connector = factories.connector("acme-crm", "Acme CRM", partner)
    return factories.new_install(account, connector, name="Main", last_error="")


def test_record_takes_account_connector_and_subject_from_the_install(partner, install):
    event = events.record(Action.INSTALL_REFRESHED, partner=partner.pk, install=install,
                          status="authenticated")
    assert (event.partner, event.account, event.install, event.connector) == (
        partner, install.account, install, install.connector)
    assert event.actor is None and event.actor_label == "system"
    assert event.detail == {"status": "authenticated"}
    assert event.subject == {
        "account": {"external_id": "cust-1", "name": "Initech"}, "connector": "acme-crm",
        "install": {"id": install.pk, "name": "Main", "status": install.status, "error": ""}}


def test_a_logged_in_actor_is_the_user_anyone_else_a_label(partner, alice):
    by_user = events.record(Action.INSTALL_REFRESHED, partner=partner, actor=alice)
    assert by_user.actor == alice and by_user.actor_label == ""
    anonymous = events.record(Action.INSTALL_REFRESHED, partner=partner,
                              actor=AnonymousUser(), actor_label=events.LINK_ACTOR)
    assert anonymous.actor is None and anonymous.actor_label == "install link"
    assert events.as_user(AnonymousUser()) is None and events.as_user("worker") is None


def test_reads_within_a_minute_count_into_one_event(partner, install):
    for _ in range(3):
        events.record_counted(READ, partner=partner, actor_label="key Backend", install=install)
    event = AuditEvent.objects.get(action=READ)
    assert event.detail["count"] == 3 and "last_at" in event.detail


def test_another_actor_or_install_counts_separately(partner, install):
    other = factories.new_install(install.account, install.connector, name="Second")
    events.record_counted(READ, partner=partner, actor_label="key A", install=install)
    events.record_counted(READ, partner=partner, actor_label="key B", install=install)
    events.record_counted(READ, partner=partner, actor_label="key A", install=other)
    events.record_counted(READ, partner=partner, actor_label="key A", install=install)
    counts = {(e.actor_label, e.install_id): e.detail["count"]
              for e in AuditEvent.objects.filter(action=READ)}
    assert counts == {("key A", install.pk): 2, ("key B", install.pk): 1,
                      ("key A", other.pk): 1}


def test_after_the_window_a_new_event_starts(partner, install):
    events.record_counted(READ, partner=partner, actor_label="key A", install=install)
    AuditEvent.objects.update(created_at=AuditEvent.objects.get().created_at
                              - events.COUNT_WINDOW - timedelta(seconds=1))
    events.record_counted(READ, partner=partner, actor_label="key A", install=install)
    assert sorted(e.detail["count"] for e in AuditEvent.objects.filter(action=READ)) == [1, 1]


def test_a_forgotten_or_deleted_hint_is_never_trusted(partner, install):
    """The process's hint points at a deleted event: the read is still recorded."""
    events.record_counted(READ, partner=partner, actor_label="key A", install=install)
    AuditEvent.objects.all().delete()
    events.record_counted(READ, partner=partner, actor_label="key A", install=install)
    assert AuditEvent.objects.get(action=READ).detail["count"] == 1
