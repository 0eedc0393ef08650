"""Gauges about webhook deliveries for `/metrics`, computed when Prometheus scrapes
(METRICS_COLLECTORS): one aggregate query, nothing decrypted."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from webhooks.models import WebhookDelivery


class DeliveriesCollector:
    """Webhook deliveries waiting for a retry, due now, or failed for good."""

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
