"""Webhook deliveries on /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY

from installs.accounts import create_account
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
