"""One partner's slow endpoints cannot hold up another partner's deliveries, or token
refresh: an endpoint that failed is passed over for the rest of a pass, each job of a
worker pass has its own time budget, and a partner has at most WEBHOOK_MAX_ENDPOINTS."""

from __future__ import annotations

import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account
from installs import refresh
from installs.accounts import create_account
from installs.installing import create_install
from installs.models import Install
from tests.factories import catalogue_connector
from tests.installs.conftest import FakeMethod, make_install, sandbox_oauth2_connector
from tests.webhooks.conftest import Receiver, Reply, relay_all
from webhooks import services
from webhooks.management.commands import worker
from webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def other_receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_hanging_endpoint_does_not_delay_another_partner_or_refresh(
        partner, other_partner, receiver, other_receiver, settings, monkeypatch):
    """Six events for a partner whose endpoint never answers in time, one for another
    partner, and an install due for refresh: one worker pass refreshes the install and
    delivers the other partner's event, spending one timeout on the hanging endpoint."""
    settings.WEBHOOK_TIMEOUT = 1
    receiver.script = [Reply(delay=5)]
    services.create_endpoint(partner=partner, url=receiver.url)
    services.create_endpoint(partner=other_partner, url=other_receiver.url)
    slow = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    for n in range(6):
        create_install(account=slow, connector=catalogue_connector(
            "sandbox-api-key"), name=f"Keyed {n}", actor=None)
    other = create_account(partner=other_partner, name="Globex",
                                            external_id="g-1", actor=None)
    relay_all()
    method = FakeMethod()
    monkeypatch.setattr(refresh, "method_for", lambda install, **kwargs: method)
    due = make_install(other, sandbox_oauth2_connector(), expires_in=0)
    started = time.monotonic()
    call_command("worker", "--once", stdout=StringIO())
    took = time.monotonic() - started
    assert len(other_receiver.requests) == 1  # Globex's account.created
    assert WebhookDelivery.objects.filter(endpoint__partner=other_partner,
                                          status="delivered").count() == 1
    due.refresh_from_db()
    assert len(method.calls) == 1 and due.status == Install.Status.AUTHENTICATED
    assert len(receiver.requests) == 1  # one attempt at the hanging endpoint this pass
    assert took < 4 * settings.WEBHOOK_TIMEOUT  # one per queued event would be 6 or more


def test_each_job_stops_at_its_budget(partner, receiver, settings):
    """In the worker loop a job stops taking rows once WORKER_JOB_BUDGET has passed (the
    rest are taken by the next pass, which follows at once)."""
    settings.WEBHOOK_TIMEOUT = 0.3
    settings.WORKER_JOB_BUDGET = 0.5
    receiver.script = [Reply(delay=0.2)]
    for n in range(8):
        services.create_endpoint(partner=partner, url=f"{receiver.url}/{n}")
    create_account(partner=partner, name="Initech", external_id="cust-1",
                                    actor=None)
    relay_all()
    command = worker.Command(stdout=StringIO())
    command.stopping, command.heartbeat = threading.Event(), "test-worker"
    assert command.run_pass(1000, loop=True) == 1000  # cut short: more is waiting
    attempted = WebhookDelivery.objects.filter(attempts__gt=0).count()
    assert 0 < attempted < 8


def test_endpoints_per_partner_are_capped(admin_client, partner, settings):
    """WEBHOOK_MAX_ENDPOINTS: the next one is refused in the console with a clear message,
    and nothing is saved."""
    settings.WEBHOOK_MAX_ENDPOINTS = 2
    for n in range(2):
        services.create_endpoint(partner=partner, url=f"https://hooks.acme.test/{n}")
    response = admin_client.post("/webhooks/new/", {"url": "https://hooks.acme.test/x",
                                                    "description": ""})
    assert response.status_code == 200
    assert "at most 2 webhook endpoints" in response.content.decode()
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 2
    with pytest.raises(services.TooManyEndpoints):
        services.create_endpoint(partner=partner, url="https://hooks.acme.test/y")
    with pytest.raises(CommandError, match="at most 2 webhook endpoints"):
        call_command("create_webhook_endpoint", "--partner", partner.slug,
                     "--url", "https://hooks.acme.test/z", stdout=StringIO())
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 2


def test_the_cap_is_per_partner(partner, other_partner, settings):
    """Another partner's endpoints do not count."""
    settings.WEBHOOK_MAX_ENDPOINTS = 1
    services.create_endpoint(partner=partner, url="https://hooks.acme.test/1")
    services.create_endpoint(partner=other_partner, url="https://hooks.globex.test/1")
    assert WebhookEndpoint.objects.count() == 2


