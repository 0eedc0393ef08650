"""`create_webhook_endpoint`, `deliver_webhooks` and `worker` (every background job)."""

from __future__ import annotations

import os
import signal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from standardwebhooks.webhooks import Webhook

from audit.models import AuditEvent
from installs.installing import create_install
from tests.factories import catalogue_connector
from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint


def test_create_webhook_endpoint_prints_the_secret_alone(partner, receiver):
    """stdout is the secret and nothing else; the endpoint has the listed event types."""
    out = StringIO()
    call_command("create_webhook_endpoint", "--partner", "acme", "--url", receiver.url,
                 "--events", "install.created,install.deleted", stdout=out)
    secret = out.getvalue().strip()
    assert out.getvalue() == secret + "\n" and secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert endpoint.secrets["current"] == secret
    assert endpoint.event_types == ["install.created", "install.deleted"]
    assert AuditEvent.objects.get(action="webhook_endpoint.created").actor_label == (
        "create_webhook_endpoint")


@pytest.mark.parametrize("args,message", [
    (["--partner", "nope", "--url", "https://hooks.acme.test/"], "No partner"),
    (["--partner", "acme", "--url", "http://hooks.acme.test/"], "must start with https://"),
    (["--partner", "acme", "--url", "https://hooks.acme.test/", "--events", "install.oops"],
     "event_types"),
])
def test_create_webhook_endpoint_refusals(partner, args, message):
    """A wrong partner, URL or event type: an error naming it, nothing created."""
    with pytest.raises(CommandError, match=message):
        call_command("create_webhook_endpoint", *args, stdout=StringIO())
    assert not WebhookEndpoint.objects.exists()


def test_deliver_webhooks_relays_and_delivers(partner, receiver, account):
    """One pass: the outbox event relayed, delivered signed, each job reported."""
    out = StringIO()
    call_command("create_webhook_endpoint", "--partner", "acme", "--url", receiver.url,
                 stdout=out)
    create_install(account=account, connector=catalogue_connector(
        "sandbox-api-key"), actor=None)
    lines = StringIO()
    call_command("deliver_webhooks", stdout=lines)
    report = lines.getvalue().splitlines()
    assert report[0].startswith("Webhook relay: 1 webhook events")
    assert report[1].startswith("Webhook deliveries: 1 delivered")
    assert report[2].startswith("Old webhook deliveries: 0 events pruned")
    assert report[3].startswith("Old audit events: 0 audit events deleted")
    received = receiver.requests[0]
    assert Webhook(out.getvalue().strip()).verify(received.body, received.headers)["type"] == (
        "install.created")


def test_worker_once_runs_every_job(partner):
    """`worker --once`: refresh, revocations, sign-in purge, relay, delivery, pruning."""
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    titles = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert titles == ["Token refresh pass", "Pending revocations", "Expired sign-ins",
                      "Webhook relay", "Webhook deliveries", "Old webhook deliveries",
                      "Old audit events"]


def test_worker_loop_stops_on_sigterm(partner, receiver, account, monkeypatch):
    """SIGTERM during a pass: the delivery in hand is finished, then the worker exits."""
    call_command("create_webhook_endpoint", "--partner", "acme", "--url", receiver.url,
                 stdout=StringIO())
    connector = catalogue_connector("sandbox-api-key")
    for n in range(3):
        create_install(account=account, connector=connector, actor=None,
                       name=f"Install {n}")
    real = delivery.attempt
    handled = []

    def attempt_then_sigterm(row, *, now):
        handled.append(real(row, now=now))
        os.kill(os.getpid(), signal.SIGTERM)
        return handled[-1]

    monkeypatch.setattr(delivery, "attempt", attempt_then_sigterm)
    previous = signal.getsignal(signal.SIGTERM)
    out = StringIO()
    call_command("worker", "--interval", "60", stdout=out)
    assert signal.getsignal(signal.SIGTERM) == previous
    assert handled == [delivery.DELIVERED]
    assert out.getvalue().splitlines()[-1] == "Stopped."
    assert WebhookDelivery.objects.filter(status="pending").count() == 2
