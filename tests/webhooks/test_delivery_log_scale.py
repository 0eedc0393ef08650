"""An endpoint's delivery log at two sizes: the same queries; past the cap, the most
recent deliveries with a note."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEvent


def deliveries(endpoint, count: int, *, start: int = 0) -> None:
    now = timezone.now()
    events = WebhookEvent.objects.bulk_create(
        WebhookEvent(partner=endpoint.partner, public_id=f"evt_fake_{n}", type="install.created",
                     body="{}", created_at=now - timezone.timedelta(minutes=n))
        for n in range(start, start + count))
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint=endpoint, status=WebhookDelivery.Status.DELIVERED,
                        give_up_at=now, delivered_at=now, created_at=event.created_at)
        for event in events)


def queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("query", ["", "?failed=1", "?page=2"])
def test_the_delivery_log_runs_as_many_queries_at_600_deliveries_as_at_60(
        admin_client, partner, query):
    endpoint, _ = services.create_endpoint(partner=partner, url="https://hooks.acme.test/in")
    deliveries(endpoint, 60)
    url = f"/webhooks/{endpoint.pk}/{query}"
    small = queries(admin_client, url)
    deliveries(endpoint, 540, start=60)
    assert queries(admin_client, url) == small


def test_past_the_cap_the_log_shows_the_most_recent(admin_client, partner, monkeypatch):
    monkeypatch.setattr("core.paging.COUNT_CAP", 60)
    endpoint, _ = services.create_endpoint(partner=partner, url="https://hooks.acme.test/in")
    deliveries(endpoint, 70)
    first = admin_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    # delivered in one go: the same time, so the newest rows are the last written
    assert "evt_fake_69<" in first and "Showing the most recent 60" in first
    assert "Page 1 of 2" in first
    last = admin_client.get(f"/webhooks/{endpoint.pk}/?page=9").content.decode()
    assert "evt_fake_10<" in last and "evt_fake_9<" not in last
