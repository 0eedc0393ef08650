"""Audit retention deletes only what it should: the boundary day, events still needed
(not relayed, an undelivered webhook's, an install's last of its kind), partners apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import Install
from tests.factories import catalogue_connector
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.retention import prune_audit

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAYS = 400


@pytest.fixture(autouse=True)
def retention(settings):
    settings.AUDIT_RETENTION_DAYS = DAYS


def event(partner, *, days: float, action="install.credentials_read", install=None,
          relayed=True) -> AuditEvent:
    row = AuditEvent.objects.create(partner=partner, action=action, actor_label="API key Fake",
                                    install=install, account=install.account if install else None,
                                    relayed_at=NOW if relayed else None)
    AuditEvent.objects.filter(pk=row.pk).update(created_at=NOW - timedelta(days=days))
    return row


def install_of(partner, n: int = 1) -> Install:
    account = Account.objects.create(partner=partner, name=f"Customer {n}", external_id=f"c-{n}")
    return Install.objects.create(account=account, connector=catalogue_connector("sandbox-api-key"),
                                  name=f"Install {n}", status=Install.Status.AUTHENTICATED)


def left() -> set[int]:
    return set(AuditEvent.objects.values_list("pk", flat=True))


def test_the_boundary_day(partner, catalog):
    older = event(partner, days=DAYS + 0.01)
    younger = event(partner, days=DAYS - 0.01)
    assert prune_audit(now=NOW) == 1
    assert left() == {younger.pk}
    assert older.pk not in left()


def test_an_installs_last_of_each_kind_is_kept(partner, catalog):
    install = install_of(partner)
    oldest_read = event(partner, days=DAYS + 30, install=install)
    last_read = event(partner, days=DAYS + 10, install=install)
    last_refresh = event(partner, days=DAYS + 20, action="install.refreshed", install=install)
    assert prune_audit(now=NOW) == 1
    assert left() == {last_read.pk, last_refresh.pk}
    assert oldest_read.pk not in left()


def test_a_deleted_installs_events_all_go(partner, catalog):
    install = install_of(partner)
    old = event(partner, days=DAYS + 10, install=install)
    install.delete()  # the events stay, their install emptied (SET_NULL)
    assert AuditEvent.objects.filter(pk=old.pk, install__isnull=True).exists()
    assert prune_audit(now=NOW) == 1 and not left()


def test_events_still_needed_by_webhooks_are_kept(partner, catalog):
    unrelayed = event(partner, days=DAYS + 10, relayed=False)
    pending = event(partner, days=DAYS + 10)
    delivered = event(partner, days=DAYS + 10)
    endpoint, _ = services.create_endpoint(partner=partner, url="https://hooks.acme.test/in")
    for audit, status in ((pending, WebhookDelivery.Status.PENDING),
                          (delivered, WebhookDelivery.Status.DELIVERED)):
        webhook = WebhookEvent.objects.create(partner=partner, public_id=f"evt_{audit.pk}",
                                              type="install.created", body="{}",
                                              audit_event=audit, created_at=NOW)
        WebhookDelivery.objects.create(event=webhook, endpoint=endpoint, status=status,
                                       give_up_at=NOW)
    assert prune_audit(now=NOW) == 1
    assert {unrelayed.pk, pending.pk} <= left() and delivered.pk not in left()
    assert WebhookEvent.objects.get(public_id=f"evt_{delivered.pk}").audit_event is None


def test_partners_are_apart(partner, other_partner, catalog):
    """Another partner's newer events never make one's last of its kind deletable."""
    mine, theirs = install_of(partner, 1), install_of(other_partner, 2)
    my_last = event(partner, days=DAYS + 10, install=mine)
    their_old = event(other_partner, days=DAYS + 20, install=theirs)
    their_last = event(other_partner, days=DAYS + 5, install=theirs)
    assert prune_audit(now=NOW) == 1
    assert left() == {my_last.pk, their_last.pk}
    assert their_old.pk not in left()


def test_batches_until_done_and_stops_when_asked(partner, catalog):
    for _ in range(5):
        event(partner, days=DAYS + 1)
    assert prune_audit(now=NOW, batch_size=2, should_stop=lambda: len(left()) <= 3) == 2
    assert prune_audit(now=NOW, batch_size=2) == 3 and not left()
