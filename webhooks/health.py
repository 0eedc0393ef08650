"""What `/healthz/ready` asks of the webhook layer (READY_DUE_WORK): is there work for a
worker -- an event to relay or a delivery due?"""

from __future__ import annotations

from django.utils import timezone

from audit.models import AuditEvent
from webhooks.models import WebhookDelivery


def work_due() -> bool:
    """An audit event not yet relayed, or a delivery whose time has come (two indexed
    EXISTS queries)."""
    return (AuditEvent.objects.filter(relayed_at__isnull=True).exists()
            or WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING,
                                              next_attempt_at__lte=timezone.now()).exists())
