"""webhooks.services: endpoint writes, each audited without a secret or a URL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from webhooks import services
from webhooks.models import TEST_EVENT, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/in?token=fake-url-token"


def audited(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


def test_create_returns_the_secret_once_and_audits_neither_secret_nor_url(partner, alice):
    endpoint, secret = services.create_endpoint(
        partner=partner, url=URL, event_types=["install.refreshed", "account.created"],
        actor=alice)
    assert secret.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.enabled and endpoint.signing_secrets() == [secret]
    assert endpoint.event_types == ["account.created", "install.refreshed"]
    event = audited("webhook_endpoint.created")
    assert event.actor == alice and event.detail == {
        "endpoint": endpoint.pk, "event_types": ["account.created", "install.refreshed"]}
    assert secret not in str(event.detail) and "fake-url-token" not in str(event.detail)


def test_the_endpoint_limit_is_enforced(partner, settings):
    settings.WEBHOOK_MAX_ENDPOINTS = 2
    for n in range(2):
        services.create_endpoint(partner=partner, url=f"{URL}{n}")
    with pytest.raises(services.TooManyEndpoints, match="at most 2 webhook endpoints"):
        services.create_endpoint(partner=partner, url=URL)
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 2
    assert AuditEvent.objects.filter(action="webhook_endpoint.created").count() == 2


def test_update_names_what_changed_and_enabling_forgets_failures(partner, alice):
    endpoint, _ = services.create_endpoint(partner=partner, url=URL)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, failing_since=timezone.now(), disabled_at=timezone.now())
    endpoint.refresh_from_db()
    same = {"url": URL, "description": "", "event_types": [], "actor": alice}
    assert services.update_endpoint(endpoint=endpoint, enabled=False, **same) == []
    assert not AuditEvent.objects.filter(action="webhook_endpoint.updated").exists()
    assert services.update_endpoint(endpoint=endpoint, enabled=True,
                                    **{**same, "description": "CRM"}) == [
        "description", "enabled"]
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is None and endpoint.disabled_at is None
    assert audited("webhook_endpoint.updated").detail == {
        "endpoint": endpoint.pk, "fields": ["description", "enabled"]}


def test_rotation_keeps_the_old_secret_signing_for_a_day(partner, alice):
    endpoint, old = services.create_endpoint(partner=partner, url=URL)
    new = services.rotate_secret(endpoint=endpoint, actor=alice)
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert new != old and endpoint.signing_secrets() == [new, old]
    assert endpoint.signing_secrets(timezone.now() + timedelta(hours=25)) == [new]
    assert audited("webhook_endpoint.secret_rotated").detail == {"endpoint": endpoint.pk}


def test_a_test_event_goes_to_that_endpoint_only(partner):
    target, _ = services.create_endpoint(partner=partner, url=URL)
    services.create_endpoint(partner=partner, url=URL + "2")
    event = services.send_test(endpoint=target)
    assert event.type == TEST_EVENT and json.loads(event.body)["id"] == event.public_id
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [target.pk]


def test_delete_removes_the_endpoint_and_audits_it(partner, alice):
    endpoint, _ = services.create_endpoint(partner=partner, url=URL)
    services.send_test(endpoint=endpoint)
    services.delete_endpoint(endpoint=endpoint, actor=alice)
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert audited("webhook_endpoint.deleted").actor == alice
