"""`manage.py deliver_webhooks`: relay new events from the outbox, deliver what is due and
prune old deliveries -- once, or (--loop) as a worker until SIGTERM/SIGINT.

Run as many as you like on as many machines as you like against one PostgreSQL: events
and deliveries are claimed with `FOR UPDATE SKIP LOCKED`, so none is relayed or sent
twice at once (webhooks/relay.py, webhooks/delivery.py).
"""

from __future__ import annotations

from core.workers import WorkerCommand
from webhooks import jobs


class Command(WorkerCommand):
    help = "Relay new webhook events, deliver due ones (signed, retried) and prune old ones."
    jobs = jobs.JOBS
    default_interval = 2.0
