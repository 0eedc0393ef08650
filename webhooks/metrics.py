"""Gauges about webhooks for `/metrics`, computed when Prometheus scrapes
(METRICS_COLLECTORS): the deliveries in one aggregate query, the relay's backlog in one
count of its partial index; nothing decrypted."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from audit.models import AuditEvent
from webhooks.models import WebhookDelivery


class DeliveriesCollector:
    """Webhook deliveries waiting for a retry, due now, or failed for good; and the audit
    events the relay has not turned into webhook events yet."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = Q(status=WebhookDelivery.Status.PENDING)
        counts = WebhookDelivery.objects.aggregate(
            waiting=Count("pk", filter=pending & Q(next_attempt_at__gt=timezone.now())),
            due=Count("pk", filter=pending & Q(next_attempt_at__lte=timezone.now())),
            failed=Count("pk", filter=Q(status=WebhookDelivery.Status.FAILED)))
        gauge = GaugeMetricFamily("hatchway_webhook_deliveries",
                                  "Webhook deliveries not yet delivered, by state.",
                                  labels=["state"])
        for state in ("waiting", "due", "failed"):
            gauge.add_metric([state], counts[state])
        yield gauge
        # Only the events not taken yet are in the relay's partial index (auditevent_unrelayed):
        # a count of it stays small however long the audit log grows.
        yield GaugeMetricFamily("hatchway_audit_events_unrelayed",
                                "Audit events the webhook relay has not taken yet (its backlog).",
                                value=AuditEvent.objects.filter(relayed_at__isnull=True).count())
