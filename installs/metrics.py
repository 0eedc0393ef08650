"""Gauges about installs for `/metrics`, computed when Prometheus scrapes (METRICS_COLLECTORS).

Three queries per scrape: installs by status (one GROUP BY), due installs, and pending
revocations (total and due, one aggregate). Nothing is decrypted.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from installs.models import Install, PendingRevocation, due_filter


class InstallsCollector:
    """Installs by status, due installs, pending revocations."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = dict(Install.objects.order_by().values_list("status")
                      .annotate(n=Count("pk")).values_list("status", "n"))
        by_status = GaugeMetricFamily("hatchway_installs", "Installs, by status.",
                                      labels=["status"])
        for status in Install.Status:
            by_status.add_metric([status.value], counts.get(status.value, 0))
        yield by_status
        yield GaugeMetricFamily("hatchway_installs_due",
                                "Installs whose token a worker should refresh now.",
                                value=Install.objects.filter(due_filter()).count())
        pending = PendingRevocation.objects.aggregate(
            total=Count("pk"), due=Count("pk", filter=Q(next_attempt_at__lte=timezone.now())))
        revocations = GaugeMetricFamily(
            "hatchway_pending_revocations",
            "Revocations waiting to be retried (due: their retry time has come).",
            labels=["state"])
        revocations.add_metric(["waiting"], pending["total"] - pending["due"])
        revocations.add_metric(["due"], pending["due"])
        yield revocations
