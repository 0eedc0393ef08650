"""Single sign-on's rules, apart from the protocol (issue 23): which partner an email's
domain belongs to, who may be signed in and how they become members (just-in-time),
"Require SSO" for password sign-in, the settings' changes, and the one-time recovery link.

The OpenID Connect protocol -- discovery, the authorization code flow, the ID token's
checks -- is the `sso` app's: it makes outbound requests (connectors/http.py), which this
layer may not. It hands over only claims it has already validated.

Linking rules (an ID token whose email is verified and in one of the partner's domains):

- no user has the email: a user is made (no usable password) and joins with the default
  role;
- a user has it and is a member: they are signed in;
- a user has it and is not a member: they join with the default role (a domain belongs to
  one partner only, so no other partner's identity provider can vouch for it);
- the provider's subject (`sub`) is bound to the user on first sign-in: afterwards an
  ID token with that email and another subject (an address the provider gave to someone
  else), or that subject and another email's user, is refused;
- refused: staff and superusers (the Django admin shares the console's session, so no
  partner's identity provider may sign them in), and deactivated users.

A session signed in this way works in that partner only (`accounts.access.SSO_PARTNER_KEY`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.signing import BadSignature, TimestampSigner
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import Membership, Partner, User
from audit import events as audit
from teams.models import SingleSignOn, SingleSignOnDomain, SingleSignOnIdentity


class SignInRefused(Exception):
    """The sign-in cannot go on; the message is for the page (no secret, no token).

    `reason` is a short code for the audit event and the security log."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower().rstrip(".")


def for_email(email: str) -> SingleSignOn | None:
    """The enabled single sign-on whose domains include the email's, or None."""
    domain = email_domain(email)
    if not domain:
        return None
    return (SingleSignOn.objects.select_related("partner")
            .filter(enabled=True, domains__domain=domain).first())


def password_refused(user: User) -> Partner | None:
    """A partner of the user's that requires SSO (their password does not sign them in)."""
    membership = (Membership.objects.select_related("partner")
                  .filter(user=user, partner__single_sign_on__enabled=True,
                          partner__single_sign_on__require_sso=True).first())
    return membership.partner if membership else None


@dataclass(frozen=True)
class Identity:
    """What a validated ID token says about the user."""

    subject: str
    email: str
    email_verified: bool
    name: str = ""


def check_identity(sso: SingleSignOn, identity: Identity) -> str:
    """The identity's email, lower-case, if this partner may sign it in (SignInRefused)."""
    if not sso.enabled:
        raise SignInRefused("Single sign-on is turned off for this partner.", reason="disabled")
    email = identity.email.strip().lower()
    if not email or "@" not in email:
        raise SignInRefused("The identity provider did not send an email address.",
                            reason="no_email")
    if not identity.email_verified:
        raise SignInRefused("The identity provider has not verified this email address, "
                            "so it cannot sign you in.", reason="email_not_verified")
    if email_domain(email) not in sso.domain_list:
        raise SignInRefused(f"{email} is not in a domain {sso.partner.name} allows for single "
                            "sign-on.", reason="domain_not_allowed")
    return email


def sign_in(sso: SingleSignOn, identity: Identity) -> tuple[User, Membership]:
    """The user this identity signs in, a member of the partner (made just in time), with
    the events audited; nothing is written when it is refused."""
    email = check_identity(sso, identity)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is not None and (user.is_staff or user.is_superuser):
            raise SignInRefused("Staff accounts cannot sign in with single sign-on.",
                                reason="staff_account")
        if user is not None and not user.is_active:
            raise SignInRefused("This account is deactivated.", reason="inactive")
        created_user = user is None
        if user is None:
            user = User.objects.create_user(email, first_name=identity.name[:150])
        _link(sso, identity.subject, user)
        membership, joined = Membership.objects.get_or_create(
            user=user, partner=sso.partner, defaults={"role": sso.default_role})
        if joined:
            audit.record(audit.Action.SSO_MEMBER_JOINED, partner=sso.partner, actor=user,
                         email=email, role=membership.role, new_user=created_user)
        audit.record(audit.Action.SSO_LOGIN, partner=sso.partner, actor=user, email=email,
                     issuer=sso.issuer)
    return user, membership


def _link(sso: SingleSignOn, subject: str, user: User) -> None:
    """Bind the provider's subject to the user on first sign-in; afterwards each must
    match the other (a reused email address, or a second account at the provider with
    the same email, is refused)."""
    linked = (SingleSignOnIdentity.objects.select_for_update()
              .filter(Q(subject=subject) | Q(user=user), sso=sso))
    if not linked:
        SingleSignOnIdentity.objects.create(sso=sso, subject=subject, user=user)
        return
    if len(linked) > 1 or linked[0].subject != subject or linked[0].user_id != user.pk:
        raise SignInRefused("This email address belongs to another account at your identity "
                            "provider than the one that signed in with it before. Ask an "
                            "admin of your partner.", reason="identity_mismatch")
    SingleSignOnIdentity.objects.filter(pk=linked[0].pk).update(last_used_at=timezone.now())


def record_refusal(sso: SingleSignOn, reason: str, *, email: str = "") -> None:
    audit.record(audit.Action.SSO_LOGIN_REFUSED, partner=sso.partner,
                 actor_label="single sign-on", reason=reason, email=email)


class DomainTaken(Exception):
    """Another partner already signs in users of this domain."""


def save_settings(sso: SingleSignOn, *, domains: Iterable[str], changed: list[str],
                  by: User) -> None:
    """Save the settings and their domains in one transaction, audited by field name
    (never a value: the client secret's change is only "client_secret")."""
    wanted = sorted(set(domains))
    try:
        with transaction.atomic():
            sso.save()
            sso.domains.exclude(domain__in=wanted).delete()
            have = set(sso.domains.values_list("domain", flat=True))
            for domain in wanted:
                if domain not in have:
                    SingleSignOnDomain.objects.create(sso=sso, domain=domain)
            audit.record(audit.Action.SSO_SETTINGS_CHANGED, partner=sso.partner, actor=by,
                         fields=changed, enabled=sso.enabled, require_sso=sso.require_sso,
                         domains=wanted)
    except IntegrityError:
        raise DomainTaken("One of these domains already signs in to another partner.") from None


class RecoveryLinkTokens:
    """The one-time recovery sign-in link a superuser issues (`manage.py sso_recovery_link`).

    Signed with Django's signing (a TimestampSigner under a salt of its own, so neither a
    password reset token nor any other signed value is a recovery link), valid
    PASSWORD_RESET_TIMEOUT seconds. It binds the user's password hash and last login, to
    the microsecond: spent once the user signs in, void once the password changes."""

    salt = "hatchway.teams.single_sign_on.RecoveryLinkTokens"

    def make_token(self, user: User) -> str:
        return TimestampSigner(salt=self.salt).sign(self._state(user))

    def check_token(self, user: User, token: str) -> bool:
        try:
            state = TimestampSigner(salt=self.salt).unsign(
                token, max_age=settings.PASSWORD_RESET_TIMEOUT)
        except BadSignature:  # tampered, or expired (SignatureExpired)
            return False
        return constant_time_compare(state, self._state(user))

    def _state(self, user: User) -> str:
        last_login = user.last_login.isoformat() if user.last_login else ""
        return salted_hmac(self.salt, f"{user.pk}|{user.password}|{last_login}|{user.email}",
                           algorithm="sha256").hexdigest()


recovery_tokens = RecoveryLinkTokens()
