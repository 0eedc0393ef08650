"""Invitations to join a partner's console (issue 23).

The link's token is shown only in the email; the row keeps its SHA-256 (core.tokens: the
token has 256 random bits). Each transition locks the row, changes it and writes its
audit event in one transaction.
"""

from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from accounts.models import Membership, Partner, User
from audit import events as audit
from core.fields import EncryptedJSONField
from core.tokens import hash_token, new_state

VALID_FOR = timedelta(days=7)


class InvitationRefused(Exception):
    """The invitation cannot be used; the message says why, for the page."""


class Invitation(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.email} to {self.partner} ({self.get_role_display()})"

    @classmethod
    def find(cls, token: str) -> Invitation | None:
        return cls.objects.select_related("partner").filter(token_hash=hash_token(token)).first()

    @classmethod
    def issue(cls, *, partner: Partner, email: str, role: str, by: User) -> tuple[Invitation, str]:
        """A new invitation and its token (for the email; never stored)."""
        token = new_state()
        with transaction.atomic():
            invitation = cls.objects.create(partner=partner, email=email, role=role, invited_by=by,
                                            token_hash=hash_token(token),
                                            expires_at=timezone.now() + VALID_FOR)
            audit.record(audit.Action.MEMBER_INVITED, partner=partner, actor=by, email=email,
                         role=role)
        return invitation, token

    @property
    def state(self) -> str:
        if self.accepted_at:
            return self.State.ACCEPTED
        if self.revoked_at:
            return self.State.REVOKED
        return self.State.EXPIRED if self.expires_at <= timezone.now() else self.State.PENDING

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING

    def refusal(self) -> str | None:
        """Why the link cannot be used now (None: it can)."""
        refusals: dict[str, str] = {
            self.State.ACCEPTED: "This invitation has already been used.",
            self.State.REVOKED: "This invitation has been revoked.",
            self.State.EXPIRED: "This invitation has expired. Ask an admin to send a new one.",
        }
        return refusals.get(self.state)

    def _locked(self) -> Invitation:
        return Invitation.objects.select_for_update().select_related("partner").get(pk=self.pk)

    def resend(self, *, by: User) -> str:
        """A new token and seven more days; the old link stops working. Returns the token."""
        token = new_state()
        with transaction.atomic():
            row = self._locked()
            if row.accepted_at or row.revoked_at:
                raise InvitationRefused("Only an open invitation can be resent.")
            now = timezone.now()
            Invitation.objects.filter(pk=self.pk).update(token_hash=hash_token(token), sent_at=now,
                                                         expires_at=now + VALID_FOR)
            audit.record(audit.Action.INVITATION_RESENT, partner=self.partner_id, actor=by,
                         email=self.email, role=self.role)
        self.refresh_from_db()
        return token

    def revoke(self, *, by: User) -> None:
        with transaction.atomic():
            row = self._locked()
            if row.accepted_at or row.revoked_at:
                raise InvitationRefused("Only an open invitation can be revoked.")
            Invitation.objects.filter(pk=self.pk).update(revoked_at=timezone.now())
            audit.record(audit.Action.INVITATION_REVOKED, partner=self.partner_id, actor=by,
                         email=self.email, role=self.role)
        self.refresh_from_db()

    def accept(self, user: User) -> Membership:
        """Join `user` (whose email is the invited one) to the partner; single use.

        A user who is already a member keeps the role they have."""
        with transaction.atomic():
            row = self._locked()
            refusal = row.refusal()
            if refusal:
                raise InvitationRefused(refusal)
            if user.email.lower() != row.email.lower():
                raise InvitationRefused("This invitation is for another email address.")
            membership, created = Membership.objects.get_or_create(
                user=user, partner_id=row.partner_id, defaults={"role": row.role})
            Invitation.objects.filter(pk=self.pk).update(accepted_at=timezone.now(),
                                                         accepted_by=user)
            audit.record(audit.Action.INVITATION_ACCEPTED, partner=row.partner_id, actor=user,
                         email=row.email, role=membership.role, already_member=not created)
        self.refresh_from_db()
        return membership


class ConsoleSession(models.Model):
    """A console login's session, for the Security page's list: the device (its user agent,
    shortened) and when it was last seen. The session itself lives in Django's store."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="console_sessions")
    session_key = models.CharField(max_length=40, unique=True, editable=False)
    user_agent = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} on {self.user_agent or 'an unknown device'}"


class Passkey(models.Model):
    """A WebAuthn credential (a passkey): a second factor after the password and, when the
    authenticator keeps it as a discoverable credential, a sign-in on its own
    (teams/passkeys.py). It holds the public key only; `sign_count` is the authenticator's
    signature counter last seen, which must not go backwards (a cloned authenticator)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="passkeys")
    name = models.CharField(max_length=100, default="Passkey")
    credential_id = models.BinaryField(unique=True, editable=False)
    credential_data = models.BinaryField(editable=False)  # fido2's AttestedCredentialData
    sign_count = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.name} of {self.user}"


class SingleSignOn(models.Model):
    """A partner's single sign-on (OpenID Connect): its identity provider, the email
    domains it vouches for, and whether password sign-in is turned off for its members.

    The client secret is encrypted at rest (`secrets`, a Fernet token, never shown again
    after it is saved). The issuer and the client id are not secrets; the domains are
    rows of their own (`SingleSignOnDomain`) so that the database keeps each domain to one
    partner. The protocol itself -- discovery, the code flow, the ID token's checks -- is
    the `sso` app's, which may make outbound requests (connectors/http.py).
    """

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE,
                                   related_name="single_sign_on")
    enabled = models.BooleanField("Allow sign-in with SSO", default=False)
    issuer = models.URLField("Issuer URL", max_length=300)
    client_id = models.CharField("Client ID", max_length=300)
    secrets = EncryptedJSONField(help_text="The client secret.")
    default_role = models.CharField(max_length=10, choices=Membership.Role.choices,
                                    default=Membership.Role.VIEWER)
    require_sso = models.BooleanField(
        "Require SSO", default=False,
        help_text="Members cannot sign in with a password (a superuser can issue a one-time "
                  "recovery link).")
    # From the issuer's discovery document when the settings were saved: the endpoints
    # (authorization, token, JWKS) the sign-in uses. Never a secret.
    provider = models.JSONField(default=dict, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Single sign-on of {self.partner}"

    @property
    def client_secret(self) -> str:
        return str(self.secrets.get("client_secret", ""))

    @property
    def domain_list(self) -> list[str]:
        return sorted(d.domain for d in self.domains.all())


class SingleSignOnDomain(models.Model):
    """An email domain whose users sign in through one partner's identity provider."""

    sso = models.ForeignKey(SingleSignOn, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class SingleSignOnIdentity(models.Model):
    """Which user a partner's identity provider account (its `sub`) signed in as, first
    time: an email the provider later gives to someone else (a reused address) does not
    sign that person in as the user it belonged to."""

    sso = models.ForeignKey(SingleSignOn, on_delete=models.CASCADE, related_name="identities")
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="sso_identities")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sso", "subject"], name="one_user_per_sso_subject"),
            models.UniqueConstraint(fields=["sso", "user"], name="one_subject_per_sso_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.sso.partner}"


def new_app_secret() -> dict[str, str]:
    """A TOTP secret: 20 random bytes (RFC 4226's recommended length), hex-encoded."""
    return {"key": random_hex(20)}


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """A member's authenticator app (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps), a
    django-otp device like its `TOTPDevice` but with the shared secret Fernet-encrypted at
    rest (`secrets`, rotated with the other secrets by `rotate_keys`). A code is accepted
    only for a time step after the last one used (no replay); wrong codes throttle it."""

    # No reverse accessor on User: django-otp finds devices by their user, not from it.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    secrets = EncryptedJSONField(default=new_app_secret, help_text="The shared secret.")
    step = 30
    t0 = 0
    digits = 6
    tolerance = 1  # a step either side, for clocks a little off
    drift = models.SmallIntegerField(default=0, help_text="Steps the app's clock is off by.")
    last_t = models.BigIntegerField(default=-1, help_text="The time step last accepted.")

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        """The secret's bytes; empty when no configured Fernet key decrypts it (an unreadable
        value loads as an empty dict)."""
        return unhexlify(self.secrets.get("key", ""))

    @property
    def config_url(self) -> str:
        """The otpauth:// URI authenticator apps read from the QR code (Key Uri Format)."""
        issuer = str(settings.OTP_TOTP_ISSUER).replace(":", "")
        label = quote(f"{issuer}:{self.user.get_username()}")
        query = urlencode({"secret": b32encode(self.bin_key).decode(), "algorithm": "SHA1",
                           "digits": self.digits, "period": self.step})
        return f"otpauth://totp/{label}?{query}&issuer={quote(issuer)}"

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    def verify_token(self, token: Any) -> bool:
        """Whether `token` is the app's code for now (a step either side), for a step
        after the last one accepted; the step is then kept, else the failure counted."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        key = self.bin_key
        verified = False
        if key and str(token).isdigit():
            totp = TOTP(key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = bool(totp.verify(int(token), self.tolerance, self.last_t + 1))
        if verified:
            self.last_t, self.drift = totp.t(), totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment(commit=True)
        return verified
