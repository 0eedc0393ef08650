"""What an event says is fixed when it is written (the audit outbox), whatever happens to
its rows before the relay takes it; an endpoint receives only what happened after it was
added."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from audit.models import AuditEvent
from installs.accounts import delete_account
from installs.installing import create_install
from installs.models import Install
from tests.factories import catalogue_connector
from tests.webhooks.conftest import relay_all
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import create_endpoint


def bodies() -> list[dict]:
    return [json.loads(e.body) for e in WebhookEvent.objects.order_by("created_at", "pk")]


def test_relay_after_the_account_and_install_are_deleted(account, endpoint):
    """Install events relayed after their install and account are gone (a lagging relay)
    still name the account and the install as they were when each event was written."""
    install = create_install(
        account=account, connector=catalogue_connector("sandbox-api-key"), name="Keyed",
        actor=None)
    install_id = install.pk
    locked = Install.objects.get(pk=install_id)
    locked.mark_refresh_failing(error="The provider could not be reached.", kind="timeout",
                                retry_at=timezone.now() + timedelta(minutes=1))
    delete_account(account=account, actor=None)
    relay_all()
    sent = bodies()
    assert [b["type"] for b in sent] == ["install.created", "install.refresh_failing",
                                         "install.deleted", "account.deleted"]
    expected_account = {"external_id": "cust-1", "name": "Initech"}
    for body, status in zip(sent[:3], ["pending", "refresh_failing", "refresh_failing"],
                            strict=True):
        assert body["data"]["account"] == expected_account, body["type"]
        assert body["data"]["install"] == {"id": install_id, "connector": "sandbox-api-key",
                                           "name": "Keyed", "status": status}, body["type"]
    assert sent[1]["data"]["error"] == "The provider could not be reached."
    assert sent[3]["data"] == {"account": expected_account, "install": None}


def test_payload_is_what_was_true_when_written(account, endpoint):
    """A name changed after the event was written does not change the event."""
    install = create_install(
        account=account, connector=catalogue_connector("sandbox-api-key"), name="Before",
        actor=None)
    account.name = "Renamed Inc"
    account.save()
    Install.objects.filter(pk=install.pk).update(name="After", status="authenticated")
    relay_all()
    (body,) = bodies()
    assert body["data"]["account"]["name"] == "Initech"
    assert body["data"]["install"]["name"] == "Before"
    assert body["data"]["install"]["status"] == "pending"


def test_new_endpoint_gets_only_later_events(account, endpoint, partner, receiver):
    """Events still waiting for the relay when an endpoint is added are not sent to it;
    the ones written after it are."""
    connector = catalogue_connector("sandbox-api-key")
    create_install(account=account, connector=connector, actor=None)
    newer, _ = create_endpoint(partner=partner, url=receiver.url + "/new")
    WebhookEndpoint.objects.filter(pk=newer.pk).update(
        created_at=timezone.now() + timedelta(seconds=1))
    relay_all()
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [
        endpoint.row.pk]
    newer.refresh_from_db()
    later = timezone.now() + timedelta(seconds=2)
    create_install(account=account, connector=connector, actor=None)
    AuditEvent.objects.filter(relayed_at__isnull=True).update(created_at=later)
    relay_all()
    assert sorted(WebhookDelivery.objects.filter(event__created_at=later)
                  .values_list("endpoint", flat=True)) == sorted([endpoint.row.pk, newer.pk])
