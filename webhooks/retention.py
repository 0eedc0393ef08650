"""Audit retention: events older than `AUDIT_RETENTION_DAYS` are deleted, a small batch at
a time, by the webhook workers (webhooks/jobs.py) -- this app, because it alone knows which
events a webhook still has to carry.

Kept whatever their age:
- events the relay has not taken yet (`relayed_at` empty);
- events an undelivered webhook refers to (a delivery still pending);
- the newest event of each kind (action) of an install that still exists: its page and the
  API keep saying when it was last authenticated, refreshed or read, however long ago.

Each batch is one short statement of its own (autocommit): at most `batch_size` rows
locked, for milliseconds, never the table. The oldest go first, found through the
`created_at` index, each batch starting after the last one's last row (the old events
that are kept are read once a pass, not once a batch); "a newer one of its kind" through
the (install, created_at, id) index.
Measured by bench/scale.py (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audit.models import AuditEvent
from webhooks.models import WebhookDelivery

LABELS = {"events": "audit events deleted"}


def deletable(cutoff: datetime) -> QuerySet[AuditEvent]:
    """Events older than `cutoff` that nothing above still needs."""
    newer_of_kind = AuditEvent.objects.filter(
        install_id=OuterRef("install_id"), action=OuterRef("action"),
        partner_id=OuterRef("partner_id")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id")))
    undelivered = WebhookDelivery.objects.filter(event__audit_event_id=OuterRef("pk"),
                                                 status=WebhookDelivery.Status.PENDING)
    return (AuditEvent.objects.filter(created_at__lt=cutoff, relayed_at__isnull=False)
            .filter(Q(install__isnull=True) | Exists(newer_of_kind))
            .exclude(Exists(undelivered)))


def prune_audit(*, now: datetime | None = None, batch_size: int = 1000,
                should_stop: Callable[[], bool] = lambda: False) -> int:
    """Delete what `deletable` finds, oldest first, `batch_size` rows a statement."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    old = deletable(cutoff).order_by("created_at", "id")
    deleted = 0
    while not should_stop() and (rows := list(old.values_list("pk", "created_at")[:batch_size])):
        # only the ids loaded: Django loads the rows it deletes (to empty the webhook
        # events' reference to them), and their JSON would cost as much as the rest
        AuditEvent.objects.filter(pk__in=[pk for pk, _ in rows]).only("pk").delete()
        deleted += len(rows)
        # The next batch starts after this one's last row: the events kept before it (an
        # install's last of its kind stays, however old) are not read again at each batch.
        last_pk, last_at = rows[-1]
        old = old.filter(Q(created_at__gt=last_at) | Q(created_at=last_at, id__gt=last_pk))
    return deleted
