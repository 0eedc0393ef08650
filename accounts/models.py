"""Partners (the tenants), their members and their customers' accounts."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Case, When
from django.utils.crypto import salted_hmac

from core.text import external_id_forms
from core.tokens import new_version


class UserManager(BaseUserManager["User"]):
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

    username = None  # type: ignore[assignment]  # Django's documented way to drop a field
    email = models.EmailField("email", unique=True)

    # The partner the console shows this user (one of their memberships; the header's
    # partner switcher changes it). Loaded with the user on every request (MemberBackend).
    current_membership = models.ForeignKey("Membership", on_delete=models.SET_NULL, null=True,
                                           blank=True, related_name="+", editable=False)
    # Raised to end every session of the user at once (removed from a partner): it is part
    # of the session's auth hash, so sessions signed with the old value no longer match.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # django-stubs types AbstractUser.objects as contrib's username-based UserManager; an
    # email-login user replaces it, as Django's docs on custom users say to.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email

    @property
    def membership(self) -> Membership | None:
        """The membership the console currently works in, else the first (None: a member of
        no partner). `accounts.access.current_membership` also remembers the choice."""
        return self.current_membership or self.memberships.select_related("partner").first()

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Epoch 0 hashes as Django does, so sessions from before the epoch existed stay valid.
        epoch = self.session_epoch
        signed = f"{self.password}:{epoch}" if epoch else self.password
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, signed, secret=secret, algorithm="sha256").hexdigest()

    def end_sessions(self) -> None:
        """End every session of this user at once, on every device (sessions check the hash
        on each request)."""
        User.objects.filter(pk=self.pk).update(session_epoch=models.F("session_epoch") + 1)
        self.refresh_from_db(fields=["session_epoch"])


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
    require_two_factor = models.BooleanField(
        "Require two-factor authentication", default=False,
        help_text="Members without it are sent to their Security page until they set it up.")
    # Replaced whenever the partner saves Authentication Settings, so that the library,
    # cached by it, shows the new padlock at once (`connectors.cards.cached_listing`).
    auth_settings_version = models.BigIntegerField(default=new_version, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def brand_name(self) -> str:
        return self.display_name or self.name

    def auth_settings_changed(self) -> None:
        """Record that the partner's Authentication Settings changed (in that transaction)."""
        self.auth_settings_version = new_version()
        Partner.objects.filter(pk=self.pk).update(auth_settings_version=self.auth_settings_version)


class Membership(models.Model):
    """A user's place at one partner, with a role; a user may be a member of several."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "partner"], name="one_membership_per_partner"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.partner}"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class AccountQuerySet(models.QuerySet["Account"]):
    def same_external_id(self, external_id: str) -> AccountQuerySet:
        """The accounts whose external id is this one compared in NFC (core/text.py)."""
        return self.filter(external_id__in=external_id_forms(external_id))

    def by_external_id(self, external_id: str) -> AccountQuerySet:
        """At most one account: the one with exactly this external id, else the one with
        it in another normal form (an id written before ids were normalised, or sent
        decomposed)."""
        first = self.same_external_id(external_id).order_by(
            Case(When(external_id=external_id, then=0), default=1), "pk").values("pk")[:1]
        return self.filter(pk__in=first)


class Account(models.Model):
    """One of the partner's customers, into which connectors are installed."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200,
                                   help_text="The partner's own id for this customer.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"],
                                    name="unique_external_id_per_partner"),
        ]
        indexes = [
            # The console's accounts list, a keyset page at a time (core/keyset.py).
            models.Index(fields=["partner", "name", "id"], name="account_by_name"),
        ]

    def __str__(self) -> str:
        return self.name
