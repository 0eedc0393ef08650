"""Install links: scoped, expiring, revocable tokens that let a customer complete installs."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Account
from installs.models import Install


class InstallLink(models.Model):
    """A scoped, expiring, revocable link that lets a customer complete installs.

    Only the SHA-256 of the token is stored; the token itself is shown once.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    DEFAULT_LIFETIME = timedelta(hours=1)
    MAX_LIFETIME = timedelta(days=7)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="install_links")
    token_hash = models.CharField(max_length=64, unique=True)
    connectors = models.ManyToManyField("connectors.Connector", related_name="+", blank=True)
    install = models.ForeignKey(Install, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="install_links",
                                help_text="Set when the link reconnects one install.")
    return_url = models.URLField(max_length=500, blank=True)
    scopes = models.JSONField(default=dict, blank=True,
                              help_text="Connector slug -> the scopes installs made through "
                                        "the link request (else the partner's).")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_installlink"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Install link for {self.account} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return self.State.REVOKED
        if self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE
