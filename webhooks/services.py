"""Writes to webhook endpoints, each audited in its own transaction (no secret, no URL:
a partner's URL may carry a token of its own in its query string)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Partner
from audit import events as audit
from webhooks.models import TEST_EVENT, WebhookDelivery, WebhookEndpoint, WebhookEvent, new_secret
from webhooks.relay import fan_out


class TooManyEndpoints(ValueError):
    """The partner has WEBHOOK_MAX_ENDPOINTS already (the message says so)."""


def create_endpoint(*, partner: Partner, url: str, description: str = "",
                    event_types: Sequence[str] = (), actor: Any = None,
                    actor_label: str = "") -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its signing secret (returned this once, kept encrypted).

    TooManyEndpoints when the partner has WEBHOOK_MAX_ENDPOINTS: every endpoint is a
    delivery per event, and a partner's endpoints share the workers with everyone's.
    """
    secret = new_secret()
    with transaction.atomic():
        # The partner's row lock: two concurrent additions cannot both pass the count.
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        most = int(settings.WEBHOOK_MAX_ENDPOINTS)
        if WebhookEndpoint.objects.filter(partner=partner).count() >= most:
            raise TooManyEndpoints(f"A partner can have at most {most} webhook endpoints. "
                                   "Delete one, or send several event types to one.")
        endpoint = WebhookEndpoint.objects.create(
            partner=partner, url=url, description=description,
            event_types=sorted(event_types), secrets={"current": secret})
        audit.record(audit.Action.WEBHOOK_ENDPOINT_CREATED, partner=partner, actor=actor,
                     actor_label=actor_label, endpoint=endpoint.pk,
                     event_types=endpoint.event_types or "all")
    return endpoint, secret


def update_endpoint(*, endpoint: WebhookEndpoint, url: str, description: str,
                    event_types: Sequence[str], enabled: bool, actor: Any) -> list[str]:
    """Change an endpoint; returns the names of the fields that changed. Enabling it again
    forgets its failures (so it is not disabled again at the next one)."""
    new = {"url": url, "description": description, "event_types": sorted(event_types),
           "enabled": enabled}
    changed = sorted(name for name, value in new.items() if getattr(endpoint, name) != value)
    if not changed:
        return changed
    with transaction.atomic():
        for name, value in new.items():
            setattr(endpoint, name, value)
        if "enabled" in changed and enabled:
            endpoint.failing_since = endpoint.disabled_at = None
        endpoint.save()
        audit.record(audit.Action.WEBHOOK_ENDPOINT_UPDATED, partner=endpoint.partner,
                     actor=actor, endpoint=endpoint.pk, fields=changed)
    return changed


def rotate_secret(*, endpoint: WebhookEndpoint, actor: Any) -> str:
    """A new secret, returned this once; the old one keeps signing for 24 hours."""
    with transaction.atomic():
        secret = endpoint.rotate_secret()
        audit.record(audit.Action.WEBHOOK_SECRET_ROTATED, partner=endpoint.partner,
                     actor=actor, endpoint=endpoint.pk)
    return secret


def delete_endpoint(*, endpoint: WebhookEndpoint, actor: Any) -> None:
    """The endpoint and its deliveries; nothing more is sent to it."""
    with transaction.atomic():
        audit.record(audit.Action.WEBHOOK_ENDPOINT_DELETED, partner=endpoint.partner,
                     actor=actor, endpoint=endpoint.pk)
        endpoint.delete()


def send_test(*, endpoint: WebhookEndpoint) -> WebhookEvent:
    """A `webhook.test` event for this endpoint alone, delivered like any other."""
    now = timezone.now()
    with transaction.atomic():
        return fan_out(endpoint.partner_id, TEST_EVENT, created_at=now, now=now,
                       endpoints=[endpoint], build=lambda public_id: {
                           "id": public_id, "type": TEST_EVENT, "created_at": now.isoformat(),
                           "data": {"message": "A test event from Hatchway."}})


def resend(*, delivery: WebhookDelivery) -> None:
    """Deliver again (same event, same webhook-id), due at once."""
    delivery.resend()
