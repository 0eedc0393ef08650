"""Two delivery workers against one PostgreSQL: every event arrives, none twice.

SQLite has no row locks, so this runs on PostgreSQL only:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway pytest tests/webhooks
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection, connections

from audit.models import Action, AuditEvent
from tests.installs.test_refresh_concurrency import child_env, manage
from tests.webhooks.conftest import Reply
from webhooks import delivery, relay, services
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL for row locks (SELECT … FOR UPDATE SKIP LOCKED): "
                              "set DATABASE_URL=postgres://…"),
]

EVENTS = 500


def test_two_workers_deliver_500_events_once_each(transactional_db, partner, account, receiver):
    """500 outbox events, two `deliver_webhooks` processes: 500 webhook events relayed,
    500 POSTs received, each webhook-id exactly once, both workers busy."""
    endpoint, secret = services.create_endpoint(partner=partner, url=receiver.url)
    receiver.script = [Reply(200, b"ok", delay=0.005)]
    AuditEvent.objects.bulk_create(
        AuditEvent(partner=partner, account=account, action=Action.ACCOUNT_CREATED,
                   actor_label="test") for _ in range(EVENTS))
    workers = [manage("deliver_webhooks", "--batch-size", str(EVENTS * 2), env=child_env())
               for _ in range(2)]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err
        outputs.append(out)
    ids = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(ids) == EVENTS and set(ids.values()) == {1}
    assert WebhookEvent.objects.count() == EVENTS
    assert set(ids) == set(WebhookEvent.objects.values_list("public_id", flat=True))
    assert WebhookDelivery.objects.filter(status="delivered").count() == EVENTS
    delivered = [int(re.search(r"Webhook deliveries: (\d+) delivered", out).group(1))
                 for out in outputs]
    assert sum(delivered) == EVENTS and min(delivered) > 0, outputs
    assert not AuditEvent.objects.filter(relayed_at__isnull=True).exists()


def test_an_endpoint_has_at_most_its_in_flight_slots(transactional_db, partner, account,
                                                     receiver, settings):
    """While another worker holds every in-flight slot of an endpoint, a delivery pass
    leaves that endpoint's deliveries alone and delivers the other endpoint's."""
    settings.WEBHOOK_MAX_IN_FLIGHT = 2
    busy, _ = services.create_endpoint(partner=partner, url=receiver.url + "/busy")
    free, _ = services.create_endpoint(partner=partner, url=receiver.url + "/free")
    AuditEvent.objects.create(partner=partner, account=account, action=Action.ACCOUNT_CREATED,
                              actor_label="test")
    relay.relay_pass()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:  # another worker, mid-delivery on both slots
            for slot in range(2):
                cursor.execute("SELECT pg_advisory_lock(%s)",
                               [delivery._SLOTS | busy.pk << 8 | slot])
        assert delivery.deliver_pass() == {delivery.DELIVERED: 1}
        assert [r.path for r in receiver.requests] == ["/hooks/free"]
        assert WebhookDelivery.objects.get(endpoint=busy).attempts == 0
    finally:
        other.close()
    assert delivery.deliver_pass() == {delivery.DELIVERED: 1}
    assert sorted(r.path for r in receiver.requests) == ["/hooks/busy", "/hooks/free"]
