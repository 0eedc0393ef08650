"""Webhook endpoints (a partner's URLs), the events sent to them and one delivery of an
event to an endpoint.

An event is relayed from the audit event its change wrote in the same transaction (the
outbox, see webhooks/relay.py); its deliveries are retried until the endpoint answers 2xx
or `RETRY_FOR` has passed (webhooks/delivery.py).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from accounts.models import Partner
from audit.models import AuditEvent
from core.fields import EncryptedJSONField, is_unreadable

#: Deliveries are retried for this long, then marked failed.
RETRY_FOR = timedelta(days=3)
#: An endpoint failing without a single success for this long is disabled.
DISABLE_AFTER = timedelta(days=5)
#: After a rotation the old secret keeps signing (beside the new one) for this long.
ROTATION_OVERLAP = timedelta(hours=24)
#: At most this much of a response body is kept (and shown, escaped) in the delivery log.
KEPT_BODY_BYTES = 1024


class EventType(models.TextChoices):
    """The events a partner can subscribe an endpoint to."""

    ACCOUNT_CREATED = "account.created", "Account created"
    ACCOUNT_DELETED = "account.deleted", "Account deleted"
    INSTALL_CREATED = "install.created", "Install created"
    INSTALL_AUTHENTICATED = "install.authenticated", "Install authenticated"
    INSTALL_REFRESH_FAILING = "install.refresh_failing", "Install refresh failing"
    INSTALL_REAUTH_REQUIRED = "install.reauth_required", "Install needs reauthentication"
    INSTALL_RECOVERED = "install.recovered", "Install recovered"
    INSTALL_DEAUTHENTICATED = "install.deauthenticated", "Install deauthenticated"
    INSTALL_DELETED = "install.deleted", "Install deleted"
    INSTALL_LINK_USED = "install_link.used", "Install link used"


#: "Send test event" sends this type, to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_event_id() -> str:
    """The public id of an event, sent as `webhook-id` on every attempt."""
    return f"evt_{secrets.token_hex(12)}"


class WebhookEndpoint(models.Model):
    """A partner's URL that receives signed events."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE,
                                related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True,
                                   help_text="Event types it receives; empty means all.")
    enabled = models.BooleanField(default=True)
    secrets = EncryptedJSONField(help_text="Signing secrets: current, and previous while "
                                           "a rotation overlaps.")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success.")
    disabled_at = models.DateTimeField(
        null=True, blank=True, help_text="When deliveries disabled it after failing for days.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.description or self.url

    def receives(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    @property
    def secret_unreadable(self) -> bool:
        return is_unreadable(self.secrets)

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets every delivery is signed with now: the current one, and the
        previous one during the rotation overlap. Empty when no key decrypts them."""
        now = now or timezone.now()
        keys = [self.secrets.get("current", "")]
        expires = self.previous_secret_expires_at
        if self.secrets.get("previous") and expires and now < expires:
            keys.append(self.secrets["previous"])
        return [key for key in keys if key]

    def rotate_secret(self, now: datetime | None = None) -> str:
        """A new current secret; the old one keeps signing for ROTATION_OVERLAP. Saves."""
        now = now or timezone.now()
        secret = new_secret()
        previous = "" if self.secret_unreadable else self.secrets.get("current", "")
        self.secrets = {"current": secret, "previous": previous}
        self.previous_secret_expires_at = now + ROTATION_OVERLAP if previous else None
        self.save(update_fields=["secrets", "previous_secret_expires_at", "updated_at"])
        return secret


class WebhookEvent(models.Model):
    """One event, its body serialised once, so every attempt sends the same bytes."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE,
                                related_name="webhook_events")
    public_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    type = models.CharField(max_length=60, db_index=True)
    body = models.TextField(help_text="The JSON payload as sent. Never a secret.")
    # One webhook event per audit event, whichever relay took it.
    audit_event = models.OneToOneField(AuditEvent, on_delete=models.SET_NULL, null=True,
                                       blank=True, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class WebhookDelivery(models.Model):
    """One event for one endpoint: attempted until 2xx, or given up after RETRY_FOR."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response_body = models.TextField(blank=True, help_text="The first 1 KB, as text.")
    last_error = models.CharField(max_length=200, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The delivery workers' queue: only pending rows, most overdue first.
            models.Index(fields=["next_attempt_at", "id"],
                         condition=models.Q(status="pending"), name="webhookdelivery_due"),
            # An endpoint's delivery log (its console page), newest first from the index.
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhookdelivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint}"

    @staticmethod
    def last_attempt_failed() -> models.Q:
        """Deliveries whose latest attempt failed: given up, or still being retried."""
        return models.Q(attempts__gt=0) & ~models.Q(status=WebhookDelivery.Status.DELIVERED)

    @property
    def is_retrying(self) -> bool:
        """Attempted, failed, and due again ("Retrying", not "Pending": it has been tried)."""
        return self.status == self.Status.PENDING and self.attempts > 0

    def resend(self, now: datetime | None = None) -> None:
        """Pending again, due at once, retried for another RETRY_FOR ("Resend")."""
        now = now or timezone.now()
        self.status = self.Status.PENDING
        self.next_attempt_at = now
        self.give_up_at = now + RETRY_FOR
        self.save(update_fields=["status", "next_attempt_at", "give_up_at"])

    def record_attempt(self, attempt: Attempt, *, now: datetime,
                       retry_at: datetime | None) -> None:
        """What one POST came to: delivered on 2xx; otherwise due again at `retry_at`, or
        failed for good once that is past `give_up_at`."""
        self.attempts += 1
        self.last_attempt_at = now
        self.last_status_code = attempt.status_code
        self.last_response_ms = attempt.response_ms
        self.last_response_body = attempt.body
        self.last_error = attempt.error[:200]
        if attempt.ok:
            self.status, self.delivered_at, self.next_attempt_at = self.Status.DELIVERED, now, None
        elif retry_at is None or retry_at >= self.give_up_at:
            self.status, self.next_attempt_at = self.Status.FAILED, None
        else:
            self.next_attempt_at = retry_at
        self.save()


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt came to (the body already cut to KEPT_BODY_BYTES)."""

    ok: bool
    status_code: int | None = None
    response_ms: int | None = None
    body: str = ""
    error: str = ""
