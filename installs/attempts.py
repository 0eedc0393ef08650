"""A browser sign-in's pending attempt (re-exported by installs/models.py, which the app
registry loads; signin.py begins and completes them)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models

from core.fields import EncryptedJSONField
from core.tokens import new_state


class AuthAttempt(models.Model):
    """One pending browser authentication of an install.

    Single use (`used_at`), expiring, bound to the browser session that started it. The
    PKCE verifier or OAuth 1.0a request-token secret stays here, encrypted.
    """

    LIFETIME = timedelta(minutes=10)

    state = models.CharField(max_length=100, unique=True, default=new_state)
    install = models.ForeignKey("installs.Install", on_delete=models.CASCADE,
                                related_name="auth_attempts")
    session_hash = models.CharField(max_length=64,
                                    help_text="SHA-256 of the browser session key.")
    secrets = EncryptedJSONField(help_text="PKCE verifier or request-token secret.")
    request_token = models.CharField(max_length=500, blank=True,
                                     help_text="OAuth 1.0a request token (public).")
    redirect_uri = models.CharField(
        max_length=500, blank=True,
        help_text="The callback URL the sign-in was begun with: its answer must arrive there. "
                  "Blank: the shared one (attempts begun before each connector had its own).")
    install_link = models.ForeignKey("links.InstallLink", on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="auth_attempts")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_authattempt"

    def __str__(self) -> str:
        return f"Authentication of {self.install} at {self.created_at:%Y-%m-%d %H:%M}"
