"""The sandbox's own data: its users, registered clients, and what its servers issued.

The sandbox plays a third-party application, so it keeps nothing secret in plaintext
either: token values, API keys, authorization codes and verifiers are stored as
SHA-256 digests (looked up by digest), passwords salted and hashed, and only what the
protocols need back -- OAuth 1.0a consumer and token secrets, which sign requests with
HMAC -- is kept encrypted (`EncryptedJSONField`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from django.db import models
from django.utils import timezone

from core.fields import EncryptedJSONField

#: Scopes (OAuth 2.0) and realms (OAuth 1.0a) the sandbox understands, with the words
#: the consent page uses for them.
SCOPES = {
    "read": "Read your sandbox profile",
    "write": "Change your sandbox data",
    "profile": "See your user name",
    "email": "See your email address",
    "offline_access": "Stay connected when you are away (refresh tokens)",
}
DEFAULT_SCOPES = ["read"]


def digest(value: str) -> str:
    """The SHA-256 hex digest under which a token, code or key is stored and looked up."""
    return hashlib.sha256(value.encode()).hexdigest()


def same_digest(value: str | None, stored: str) -> bool:
    """Constant-time comparison of a presented value with a stored digest."""
    return hmac.compare_digest(digest(value or ""), stored or "")


def hash_password(password: str) -> str:
    # A salted SHA-256: the sandbox's passwords are demo values, and a fast check keeps
    # basic-auth benchmarks cheap; Hatchway's own users use Django's password hashers.
    salt = secrets.token_hex(16)
    return f"sha256${salt}${digest(salt + password)}"


def check_password(password: str, encoded: str) -> bool:
    _, _, rest = encoded.partition("$")
    salt, _, stored = rest.partition("$")
    return bool(salt) and same_digest(salt + password, stored)


class SandboxUser(models.Model):
    """A person with an account at the sandbox application."""

    username = models.CharField(max_length=150, unique=True)
    password = models.CharField(max_length=200, blank=True, help_text="Salted SHA-256.")
    api_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True,
                                    editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.username

    def check_password(self, password: str) -> bool:
        return bool(self.password) and check_password(password, self.password)


class SandboxClient(models.Model):
    """An application registered at the sandbox: an OAuth 2.0 client or OAuth 1.0a consumer."""

    class Kind(models.TextChoices):
        OAUTH2 = "oauth2", "OAuth 2.0 client"
        OAUTH1 = "oauth1", "OAuth 1.0a consumer"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OAUTH2)
    client_id = models.CharField(max_length=64, unique=True,
                                 help_text="Client id (OAuth 2.0) or consumer key (OAuth 1.0a).")
    secret_hash = models.CharField(max_length=64, editable=False)
    # Only OAuth 1.0a needs its secret back (HMAC signing): {"consumer_secret": ...}.
    secrets = EncryptedJSONField(editable=False)
    redirect_uri = models.CharField(max_length=500, blank=True,
                                    help_text="The registered redirect (callback) URI.")
    require_pkce = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def check_secret(self, secret: str | None) -> bool:
        return secret is not None and same_digest(secret, self.secret_hash)


class AuthorizationCode(models.Model):
    """An OAuth 2.0 authorization code, single use, short-lived."""

    client = models.ForeignKey(SandboxClient, on_delete=models.CASCADE)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    code_hash = models.CharField(max_length=64, unique=True)
    # Empty when the authorization request relied on the registered default.
    redirect_uri = models.CharField(max_length=500, blank=True)
    scope = models.TextField(blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    # {"code_challenge": ...}: with the "plain" method the challenge is the verifier.
    secrets = EncryptedJSONField()
    #: Shared by every token this authorization leads to, so they can be revoked together.
    grant = models.UUIDField(default=uuid.uuid4, db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Authorization code for {self.client.name}"


class SandboxToken(models.Model):
    """One OAuth 2.0 access or refresh token issued by the token endpoint.

    A row per issued token also makes the sandbox countable: how many grants of each
    type it answered (`services.issued_count`, `services.refresh_count`).
    """

    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    client = models.ForeignKey(SandboxClient, on_delete=models.CASCADE)
    # None for client-credentials tokens: they act as the client itself.
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, null=True, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    grant_type = models.CharField(max_length=40)
    scope = models.TextField(blank=True)
    grant = models.UUIDField(db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    #: A refresh token is used once: rotation sets this.
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.grant_type}) for {self.client.name}"

    def is_usable(self) -> bool:
        if self.revoked_at or self.used_at:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class OAuth1Token(models.Model):
    """An OAuth 1.0a request token (temporary credentials) or access token."""

    class Kind(models.TextChoices):
        REQUEST = "request", "Request token"
        ACCESS = "access", "Access token"

    client = models.ForeignKey(SandboxClient, on_delete=models.CASCADE)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, null=True, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    # {"token_secret": ..., "callback": ...} -- the secret signs requests (HMAC).
    secrets = EncryptedJSONField()
    realms = models.TextField(blank=True)
    verifier_hash = models.CharField(max_length=64, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    #: A request token is exchanged (or denied) once.
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "OAuth 1.0a token"
        verbose_name_plural = "OAuth 1.0a tokens"

    def __str__(self) -> str:
        return f"OAuth 1.0a {self.get_kind_display().lower()} for {self.client.name}"

    def is_pending(self) -> bool:
        """A request token that may still be authorized or exchanged."""
        return (self.kind == self.Kind.REQUEST and self.used_at is None
                and self.expires_at is not None and self.expires_at > timezone.now())


class OAuth1Nonce(models.Model):
    """A nonce seen with its timestamp, client and token: a second sighting is a replay."""

    client_key = models.CharField(max_length=64)
    timestamp = models.BigIntegerField()
    nonce = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_key", "timestamp", "nonce", "token_hash"],
                                    name="sandbox_nonce_once"),
        ]

    def __str__(self) -> str:
        return f"Nonce {self.nonce} at {self.timestamp}"


class SandboxApp(models.Model):
    """A GitHub-style app registered at the sandbox: its public key verifies the app JWTs
    (RS256) it signs; customers install it, and are sent back to its `setup_url`."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    public_key = models.TextField(help_text="PEM public key (SubjectPublicKeyInfo).")
    setup_url = models.CharField(max_length=500, help_text="Where an installation returns to.")
    #: The app's OAuth client, when installing also authorizes the installer (the return
    #: then carries a `code` for a user token that lists the installer's installations).
    client = models.OneToOneField(SandboxClient, on_delete=models.SET_NULL, null=True,
                                  blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} (app {self.pk})"


class SandboxInstallation(models.Model):
    """One installation of a sandbox app, by a sandbox user (the GitHub account)."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="installations")
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    #: Set when the app is uninstalled: its token requests then get 404.
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Installation {self.pk} of {self.app.name}"
