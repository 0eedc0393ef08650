"""API keys: how a partner's backend authenticates to the partner API.

A key is "hw_" + `secrets.token_urlsafe(32)` (256 random bits), shown once; only its
SHA-256 (`core.tokens.hash_token`) is stored, with a short prefix to recognise it by.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Partner


class Scope(models.TextChoices):
    """What a key may do; the labels are the console's checkboxes."""

    MANAGE = "manage", "Manage"
    CREDENTIALS = "credentials", "Credentials"
    PROXY = "proxy", "Proxy"
    CONFIGURE = "configure", "Configure"


SCOPE_HELP = {
    Scope.MANAGE: "accounts, installs, install links, events",
    Scope.CREDENTIALS: "read decrypted credentials",
    Scope.PROXY: "call third-party APIs through Hatchway",
    Scope.CONFIGURE: "connectors and their Authentication Settings",
}


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """One partner API key. Revoked keys are kept, so the audit log can still name them."""

    #: `last_used_at` is written at most this often (the lookup is on every request).
    USE_RESOLUTION = timedelta(minutes=1)

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The key's first characters.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def actor_label(self) -> str:
        """Who acted, in the audit log, when this key calls the API."""
        return f"API key {self.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def scope_labels(self) -> list[str]:
        return [label for value, label in Scope.choices if value in self.scopes]

    def note_used(self, now: datetime | None = None) -> None:
        """Record the use, at most once per USE_RESOLUTION (a conditional UPDATE)."""
        now = now or timezone.now()
        if self.last_used_at and self.last_used_at > now - self.USE_RESOLUTION:
            return
        stale = models.Q(last_used_at__isnull=True) | models.Q(
            last_used_at__lte=now - self.USE_RESOLUTION)
        ApiKey.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
