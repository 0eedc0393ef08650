"""Webhook deliveries on /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY

from core.metrics import forget_gauges
from installs.accounts import create_account
from tests.installs.test_metrics import scrape
from tests.webhooks.conftest import deliver_all, relay_all


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0


def test_webhook_deliveries_are_counted(partner, endpoint):
    """A delivered webhook moves hatchway_webhook_deliveries_total{outcome="delivered"}."""
    before = sample("hatchway_webhook_deliveries_total", {"outcome": "delivered"})
    create_account(partner=partner, name="Initech", external_id="cust-m", actor=None)
    relay_all()
    deliver_all()
    assert sample("hatchway_webhook_deliveries_total", {"outcome": "delivered"}) == before + 1


def test_the_relays_backlog_is_a_gauge(partner, client):
    """hatchway_audit_events_unrelayed: the audit events not relayed yet, 0 once relayed."""
    create_account(partner=partner, name="Initech", external_id="cust-b", actor=None)
    create_account(partner=partner, name="Globex", external_id="cust-c", actor=None)
    assert "hatchway_audit_events_unrelayed 2.0" in scrape(client)
    relay_all()
    forget_gauges()  # the gauges are kept for METRICS_GAUGES_TTL between scrapes
    assert "hatchway_audit_events_unrelayed 0.0" in scrape(client)
