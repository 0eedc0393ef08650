"""Delivering webhooks: outages, signatures, rotation, hostile receivers, giving up."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from audit.models import AuditEvent
from installs.installing import create_install
from tests.factories import catalogue_connector
from tests.webhooks.conftest import Reply, deliver_all, later, relay_all
from webhooks import delivery, services
from webhooks.models import WebhookDelivery, WebhookEndpoint, new_secret


def one_event(account) -> WebhookDelivery:
    """An install.created event for `account`, relayed to the endpoints."""
    create_install(account=account, connector=catalogue_connector(
        "sandbox-api-key"), actor=None)
    relay_all()
    return WebhookDelivery.objects.get()


def test_outage_then_recovery_same_id_and_signature_verifies(endpoint, receiver, account,
                                                             settings):
    """503 three times, then 200: delivered after recovery, one webhook-id throughout, and
    every attempt verifies with the standardwebhooks package; a wrong secret fails."""
    receiver.script = [Reply(503, b"down"), Reply(503, b"down"), Reply(503, b"down"), Reply()]
    row = one_event(account)
    for minutes in (0, 10, 30, 90):
        deliver_all(now=later(minutes))
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.DELIVERED and row.attempts == 4
    assert len(receiver.requests) == 4
    assert {r.headers["webhook-id"] for r in receiver.requests} == {row.event.public_id}
    for received in receiver.requests:
        payload = Webhook(endpoint.secret).verify(received.body, received.headers)
        assert payload["id"] == row.event.public_id and payload["type"] == "install.created"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(receiver.requests[-1].body, receiver.requests[-1].headers)


def test_retries_back_off_doubling_with_jitter(endpoint, receiver, account, settings):
    """Each failure waits between half and all of WEBHOOK_RETRY_BASE · 2^(n-1)."""
    settings.WEBHOOK_RETRY_BASE = 30
    receiver.script = [Reply(500, b"")]
    row = one_event(account)
    now = timezone.now()
    for failures in (1, 2, 3):
        deliver_all(now=now)
        row.refresh_from_db()
        wait = (row.next_attempt_at - now).total_seconds()
        assert 15 * 2 ** (failures - 1) <= wait <= 30 * 2 ** (failures - 1)
        assert row.last_status_code == 500 and row.last_error == "HTTP 500"
        now = row.next_attempt_at


def test_gives_up_after_three_days(endpoint, receiver, account):
    """A delivery still failing 3 days after it was created is marked failed, not retried."""
    receiver.script = [Reply(500, b"")]
    row = one_event(account)
    deliver_all(now=timezone.now() + timedelta(days=3, minutes=1))
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.FAILED and row.next_attempt_at is None
    assert deliver_all(now=timezone.now() + timedelta(days=4)) == {}


def test_endpoint_failing_five_days_is_disabled_and_audited(endpoint, receiver, account,
                                                             admin_client):
    """No success for 5 days → disabled, an audit event, a notice on the Webhooks page."""
    receiver.script = [Reply(500, b"")]
    row = one_event(account)
    deliver_all()
    endpoint.row.refresh_from_db()
    assert endpoint.row.failing_since is not None and endpoint.row.enabled
    row.resend()
    deliver_all(now=timezone.now() + timedelta(days=5, minutes=1))
    endpoint.row.refresh_from_db()
    assert not endpoint.row.enabled and endpoint.row.disabled_at is not None
    event = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert event.detail == {"endpoint": endpoint.row.pk, "failing_days": 5}
    page = admin_client.get("/webhooks/").content.decode()
    assert "failed every delivery for 5 days" in page


def test_success_clears_failing(endpoint, receiver, account):
    """One 2xx resets the failing clock."""
    receiver.script = [Reply(500, b""), Reply(204, b"")]
    row = one_event(account)
    deliver_all()
    deliver_all(now=later(5))
    endpoint.row.refresh_from_db()
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.DELIVERED and row.last_status_code == 204
    assert endpoint.row.failing_since is None


def test_rotation_both_signatures_verify_during_overlap(endpoint, receiver, account):
    """After a rotation each delivery carries two signatures, one per secret, each valid;
    after 24 hours only the new one."""
    new = services.rotate_secret(endpoint=endpoint.row, actor=None)
    row = one_event(account)
    deliver_all()
    received = receiver.requests[-1]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint.secret, new):
        Webhook(secret).verify(received.body, received.headers)
    row.resend(now=timezone.now() + timedelta(hours=25))
    deliver_all(now=timezone.now() + timedelta(hours=25))
    received = receiver.requests[-1]
    assert len(received.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(received.body, received.headers)


def test_redirect_is_not_followed(endpoint, receiver, account):
    """A 307 to another URL is a failed attempt: the body is not sent on."""
    receiver.script = [Reply(307, b"", headers={"Location": receiver.url + "/elsewhere"})]
    row = one_event(account)
    deliver_all()
    row.refresh_from_db()
    assert [r.path for r in receiver.requests] == ["/hooks"]
    assert row.status == WebhookDelivery.Status.PENDING and row.last_status_code == 307
    assert row.last_error == "Redirect not followed."


@pytest.mark.parametrize("url", ["https://127.0.0.1:9/hooks", "https://10.0.0.7/hooks",
                                 "https://[::1]/hooks", "https://169.254.169.254/latest",
                                 "http://localhost:9/hooks"])
def test_private_address_refused_without_sandbox(partner, account, settings, url,
                                                 monkeypatch):
    """With the sandbox and DEBUG off no local, private or link-local address is called."""
    settings.ALLOW_LOCAL_PROVIDERS = False
    sent = []
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda *args, **kwargs: sent.append(args))
    WebhookEndpoint.objects.create(partner=partner, url=url, secrets={"current": new_secret()})
    row = one_event(account)
    deliver_all()
    row.refresh_from_db()
    assert sent == []
    assert row.status == WebhookDelivery.Status.PENDING and row.attempts == 1
    assert row.last_error.startswith("Refused: Endpoints must")


def test_slow_receiver_is_cut_at_the_timeout_and_retried(endpoint, receiver, account, settings):
    """No answer within WEBHOOK_TIMEOUT → a failed attempt, retried later (and delivered)."""
    settings.WEBHOOK_TIMEOUT = 0.5
    receiver.script = [Reply(200, b"late", delay=2), Reply()]
    row = one_event(account)
    started = timezone.now()
    deliver_all()
    assert (timezone.now() - started).total_seconds() < 1.8
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.PENDING
    assert row.last_error == "No answer within 0.5 s."
    deliver_all(now=later(5))
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.DELIVERED and row.attempts == 2


def test_trickling_receiver_is_cut_at_the_timeout(endpoint, receiver, account, settings):
    """Headers at once, then a byte every 0.2 s: cut at WEBHOOK_TIMEOUT in all, retried."""
    settings.WEBHOOK_TIMEOUT = 1
    receiver.script = [Reply(200, b"x", chunks=50, chunk_delay=0.2)]
    row = one_event(account)
    started = timezone.now()
    deliver_all()
    assert (timezone.now() - started).total_seconds() < 2.5
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.PENDING and row.last_error == (
        "No answer within 1 s.")


def test_no_secret_in_logs_at_debug(endpoint, receiver, account, caplog):
    """A failing and a succeeding delivery logged at DEBUG: the signing secret never appears."""
    receiver.script = [Reply(500, b"no"), Reply()]
    with caplog.at_level(logging.DEBUG):
        row = one_event(account)
        deliver_all()
        deliver_all(now=later(5))
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.DELIVERED
    secret = endpoint.secret.removeprefix("whsec_")
    assert caplog.records and not any(secret in r.getMessage() for r in caplog.records)


def test_huge_body_is_not_read_whole(endpoint, receiver, account, monkeypatch):
    """A 20 MB answer: at most 64 KB is read, 1 KB kept, and it still counts as delivered."""
    reads = []
    real = delivery.http._read_at_most

    def spy(response, max_bytes, **kwargs):
        body = real(response, max_bytes, **kwargs)
        reads.append(len(body))
        return body

    monkeypatch.setattr(delivery.http, "_read_at_most", spy)
    receiver.script = [Reply(200, b"x" * 1024 * 1024, chunks=20)]
    row = one_event(account)
    deliver_all()
    row.refresh_from_db()
    assert reads == [delivery.MAX_RESPONSE_BYTES]
    assert row.status == WebhookDelivery.Status.DELIVERED
    assert row.last_response_body == "x" * 1024


def test_response_body_kept_short_and_without_nul(endpoint, receiver, account):
    """The kept body is the first 1 KB as text; NUL and invalid UTF-8 are replaced."""
    receiver.script = [Reply(400, b"\x00bad\xff" + b"y" * 5000)]
    row = one_event(account)
    deliver_all()
    row.refresh_from_db()
    assert row.last_response_body.startswith("\ufffdbad\ufffdyyy")
    assert len(row.last_response_body) == 1024


def test_unreadable_secret_is_a_failed_attempt_not_a_crash(endpoint, receiver, account,
                                                           settings):
    """Secrets no configured key decrypts: nothing is sent unsigned; the log says why."""
    row = one_event(account)
    settings.FERNET_KEYS = ["another-fernet-key-for-this-test"]
    deliver_all()
    row.refresh_from_db()
    assert receiver.requests == []
    assert row.attempts == 1 and "rotate it" in row.last_error


def test_prune_deletes_old_events_and_deliveries(endpoint, receiver, account, settings):
    """Older than WEBHOOK_RETENTION_DAYS: gone; recent: kept."""
    one_event(account)
    assert delivery.prune(now=timezone.now() + timedelta(days=29)) == 0
    assert delivery.prune(now=timezone.now() + timedelta(days=31)) == 1
    assert not WebhookDelivery.objects.exists()


def test_test_event_goes_to_that_endpoint_only(endpoint, receiver, partner):
    """"Send test event": one webhook.test, to this endpoint, whatever it subscribes to."""
    endpoint.row.event_types = ["install.deleted"]
    endpoint.row.save()
    WebhookEndpoint.objects.create(partner=partner, url=receiver.url + "/other",
                                   secrets={"current": new_secret()})
    services.send_test(endpoint=endpoint.row)
    deliver_all()
    assert [r.path for r in receiver.requests] == ["/hooks"]
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "webhook.test"
    Webhook(endpoint.secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
