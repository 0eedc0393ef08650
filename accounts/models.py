"""Partners, their members, their customers' accounts, installs and install links."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from connectors.crypto import EncryptedJSONField, is_unreadable


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in with an email address and a password."""

    username = None
    email = models.EmailField("email", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour like #1a73e8.")


class Partner(models.Model):
    """The tenant: a SaaS company whose customers connect third-party applications."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    display_name = models.CharField(max_length=100, blank=True,
                                    help_text="Shown to customers on install pages.")
    logo = models.BinaryField(blank=True, null=True, editable=False)
    logo_content_type = models.CharField(max_length=40, blank=True, editable=False)
    primary_colour = models.CharField(max_length=7, default="#2f5bea", validators=[hex_colour])
    support_email = models.EmailField(blank=True)
    allowed_return_origins = models.JSONField(default=list, blank=True,
                                              help_text="Origins install links may return to.")
    allowed_frame_origins = models.JSONField(default=list, blank=True,
                                             help_text="Origins allowed to embed install pages.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def brand_name(self) -> str:
        return self.display_name or self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        VIEWER = "viewer", "Viewer"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="membership")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.partner}"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Account(models.Model):
    """One of the partner's customers, into which connectors are installed."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200,
                                   help_text="The partner's own id for this customer.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"],
                                    name="unique_external_id_per_partner"),
        ]

    def __str__(self) -> str:
        return self.name


#: The encrypted columns of an install reached through a foreign key (`defer` them).
INSTALL_SECRETS = ("install__secret_values", "install__credentials")


class InstallQuerySet(models.QuerySet):
    def without_secrets(self) -> InstallQuerySet:
        """For list pages: never load (or decrypt) the encrypted columns."""
        return self.defer("secret_values", "credentials")

    def for_partner(self, partner: Partner) -> InstallQuerySet:
        return self.filter(account__partner=partner)

    def for_update(self, *, skip_locked: bool = False) -> InstallQuerySet:
        """Row-locked (`SELECT … FOR UPDATE`) until the transaction ends, with the account,
        partner and connector that audit events name.

        `of=("self",)`: only the install rows are locked, not the account, partner or
        connector rows every other install shares.
        """
        return (self.select_related("account__partner", "connector")
                .select_for_update(skip_locked=skip_locked, of=("self",)))


class Install(models.Model):
    """A connector installed into an account, with its account-level values and credentials."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AUTHENTICATED = "authenticated", "Authenticated"
        REFRESH_FAILING = "refresh_failing", "Refresh failing"
        REAUTH_REQUIRED = "reauth_required", "Reauthentication required"
        ERROR = "error", "Error"
        DEAUTHENTICATED = "deauthenticated", "Deauthenticated"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="installs")
    connector = models.ForeignKey("connectors.Connector", on_delete=models.PROTECT,
                                  related_name="installs")
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    values = models.JSONField(default=dict, blank=True,
                              help_text="Non-secret account-level values (e.g. subdomain).")
    secret_values = EncryptedJSONField(help_text="Secret values entered at install.")
    credentials = EncryptedJSONField(help_text="Tokens or keys produced by authentication.")
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                      help_text="When the access token expires.")
    last_error = models.CharField(max_length=500, blank=True)
    refresh_failures = models.PositiveIntegerField(default=0)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    authenticated_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstallQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or str(self.connector)

    @property
    def credentials_unreadable(self) -> bool:
        """True when stored secrets exist but no configured key decrypts them."""
        return is_unreadable(self.credentials) or is_unreadable(self.secret_values)

    def is_expiring(self, *, now: datetime | None = None, margin: int | None = None) -> bool:
        """The access token expires within the refresh margin."""
        if self.expires_at is None:
            return False
        now = now or timezone.now()
        margin = settings.TOKEN_REFRESH_MARGIN if margin is None else margin
        return self.expires_at <= now + timedelta(seconds=margin)


def new_state() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthAttempt(models.Model):
    """One pending browser authentication of an install.

    Single use (`used_at`), expiring, bound to the browser session that started it. The
    PKCE verifier or OAuth 1.0a request-token secret stays here, encrypted.
    """

    LIFETIME = timedelta(minutes=10)

    state = models.CharField(max_length=100, unique=True, default=new_state)
    install = models.ForeignKey(Install, on_delete=models.CASCADE, related_name="auth_attempts")
    session_hash = models.CharField(max_length=64,
                                    help_text="SHA-256 of the browser session key.")
    secrets = EncryptedJSONField(help_text="PKCE verifier or request-token secret.")
    request_token = models.CharField(max_length=500, blank=True,
                                     help_text="OAuth 1.0a request token (public).")
    install_link = models.ForeignKey("InstallLink", on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="auth_attempts")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Authentication of {self.install} at {self.created_at:%Y-%m-%d %H:%M}"


class InstallLink(models.Model):
    """A scoped, expiring, revocable link that lets a customer complete installs.

    Only the SHA-256 of the token is stored; the token itself is shown once.
    """

    DEFAULT_LIFETIME = timedelta(hours=1)
    MAX_LIFETIME = timedelta(days=7)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="install_links")
    token_hash = models.CharField(max_length=64, unique=True)
    connectors = models.ManyToManyField("connectors.Connector", related_name="+", blank=True)
    install = models.ForeignKey(Install, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="install_links",
                                help_text="Set when the link reconnects one install.")
    return_url = models.URLField(max_length=500, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Install link for {self.account} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_active(self) -> bool:
        return self.state == "active"


class AuditEvent(models.Model):
    """Who did what to which object, when. Never holds a secret value."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True,
                                   help_text="Who acted when not a user: system, install link.")
    action = models.CharField(max_length=60, db_index=True)
    account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="audit_events")
    install = models.ForeignKey(Install, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="audit_events")
    connector = models.ForeignKey("connectors.Connector", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True,
                              help_text="Field names, statuses, error kinds: never values.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or self.actor_label or 'system'}"


class PendingRevocation(models.Model):
    """A token the provider could not revoke at deauthentication (5xx, 429, timeout).

    The install's own credentials are already deleted; this row keeps, encrypted, only
    the token `revoke` needs and the merged values to build the method (client id and
    secret, templated URL values), until `manage.py refresh_tokens` revokes it, the
    provider refuses it for good, or the attempts run out. See accounts/revocation.py.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE,
                                related_name="pending_revocations")
    connector = models.ForeignKey("connectors.Connector", on_delete=models.PROTECT,
                                  related_name="+")
    install = models.ForeignKey(Install, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="pending_revocations",
                                help_text="Empty once the install was deleted.")
    credentials = EncryptedJSONField(help_text="The token to revoke (and nothing else).")
    values = EncryptedJSONField(help_text="Merged values that configure the auth method.")
    attempts = models.PositiveIntegerField(default=1,
                                           help_text="Revocation requests made so far.")
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["next_attempt_at", "pk"]

    def __str__(self) -> str:
        return f"Pending revocation {self.pk} ({self.connector})"
