"""The background jobs of webhooks, as worker commands run them (core/workers.py): the
outbox relay, deliveries, the pruning of old deliveries and of old audit events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from core.workers import Job
from webhooks import delivery, relay, retention


def _relay(batch_size: int, should_stop: Callable[[], bool]) -> Counter[str]:
    return relay.relay_pass(batch_size=batch_size, should_stop=should_stop)


def _deliver(batch_size: int, should_stop: Callable[[], bool]) -> Counter[str]:
    return delivery.deliver_pass(batch_size=batch_size, should_stop=should_stop)


def _prune(batch_size: int, should_stop: Callable[[], bool]) -> Counter[str]:
    pruned = delivery.prune(batch_size=batch_size)
    return Counter({"events": pruned} if pruned else {})


def _prune_audit(batch_size: int, should_stop: Callable[[], bool]) -> Counter[str]:
    pruned = retention.prune_audit(batch_size=batch_size, should_stop=should_stop)
    return Counter({"events": pruned} if pruned else {})


RELAY = Job("Webhook relay", _relay, relay.LABELS)
DELIVER = Job("Webhook deliveries", _deliver, delivery.LABELS)
PRUNE = Job("Old webhook deliveries", _prune, delivery.PRUNED_LABELS)

PRUNE_AUDIT = Job("Old audit events", _prune_audit, retention.LABELS)

JOBS = (RELAY, DELIVER, PRUNE, PRUNE_AUDIT)
