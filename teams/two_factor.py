"""Two-factor authentication with an authenticator app (TOTP, RFC 6238) and recovery codes,
on django-otp's devices: `AuthenticatorApp` (teams/models.py: its secret Fernet-encrypted;
a code is accepted only for a time step after the last one used; wrong codes throttle it)
and a `StaticDevice` whose tokens are the recovery codes' hashes, never the codes.

- Set-up: an unconfirmed TOTP device (its secret shown as a QR code and as text), made
  active by a code from the app; then 10 recovery codes, shown once.
- Login: after the password, `verify` checks an authentication code or a recovery code
  (each recovery code works once). The device row is locked while it is checked, so two
  requests with the same code cannot both pass.
"""

from __future__ import annotations

import hashlib
import secrets
from base64 import b32encode

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import Partner, User
from audit import events as audit
from teams.models import AuthenticatorApp, Passkey

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def is_on(user: User) -> bool:
    """An authenticator app or a passkey."""
    return bool(AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()
                or Passkey.objects.filter(user=user).exists())


def has_app(user: User) -> bool:
    return bool(AuthenticatorApp.objects.filter(user=user, confirmed=True).exists())


def is_on_for_member() -> Q:
    """`is_on` of a membership's user, as an annotation (the Members list)."""
    return (Exists(AuthenticatorApp.objects.filter(user=OuterRef("user"), confirmed=True))
            | Exists(Passkey.objects.filter(user=OuterRef("user"))))


def pending_device(user: User) -> AuthenticatorApp:
    """The device being set up (made on first use), never a confirmed one."""
    device, _ = AuthenticatorApp.objects.get_or_create(user=user, confirmed=False,
                                                       defaults={"name": TOTP_NAME})
    return device


def setup_uri(device: AuthenticatorApp) -> str:
    uri: str = device.config_url
    return uri


def secret_text(device: AuthenticatorApp) -> str:
    """The secret as the base32 text authenticator apps accept when typed in."""
    return b32encode(device.bin_key).decode().rstrip("=")


def _partners(user: User) -> list[int]:
    return list(user.memberships.values_list("partner_id", flat=True))


def confirm(*, user: User, code: str) -> list[str] | None:
    """Turn the pending device on with a code from the app; returns new recovery codes
    (None: the code was wrong)."""
    with transaction.atomic():
        device = (AuthenticatorApp.objects.select_for_update()
                  .filter(user=user, confirmed=False).first())
        if device is None or not device.verify_token(code):
            return None
        AuthenticatorApp.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        for partner_id in _partners(user):
            audit.record(audit.Action.TWO_FACTOR_ENABLED, partner=partner_id, actor=user)
    return codes


def new_recovery_codes(*, user: User) -> list[str]:
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        for partner_id in _partners(user):
            audit.record(audit.Action.RECOVERY_CODES_REGENERATED, partner=partner_id, actor=user)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME)
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=_stored(c)) for c in codes)
    return codes


RECOVERY_LENGTH = 16


def _digits(recovery_code: str) -> str:
    """A recovery code's 16 hex digits, typed with or without the dash, in either case."""
    return recovery_code.lower().replace("-", "")


def _stored(recovery_code: str) -> str:
    """What is kept of a recovery code: the first 16 hex digits (django-otp's token column)
    of the SHA-256 of its digits. A code has 64 random bits, so its hash needs no salt or
    stretching to be as hard to reverse."""
    return hashlib.sha256(_digits(recovery_code).encode()).hexdigest()[:RECOVERY_LENGTH]


def turn_off(*, user: User) -> None:
    with transaction.atomic():
        AuthenticatorApp.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        for partner_id in _partners(user):
            audit.record(audit.Action.TWO_FACTOR_DISABLED, partner=partner_id, actor=user)


def verify(*, user: User, code: str) -> bool:
    """An authentication code from the app, or an unused recovery code (then used up)."""
    code = code.strip().replace(" ", "")
    with transaction.atomic():
        totp = (AuthenticatorApp.objects.select_for_update()
                .filter(user=user, confirmed=True).first())
        if totp is not None and code.isdigit() and totp.verify_token(code):
            return True
        recovery = StaticDevice.objects.select_for_update().filter(user=user).first()
        return bool(recovery is not None and len(_digits(code)) == RECOVERY_LENGTH
                    and recovery.verify_token(_stored(code)))


def set_required(*, partner: Partner, required: bool, by: User) -> None:
    """The partner's "Require two-factor authentication" setting, audited."""
    with transaction.atomic():
        Partner.objects.filter(pk=partner.pk).update(require_two_factor=required)
        partner.require_two_factor = required
        audit.record(audit.Action.TWO_FACTOR_REQUIREMENT_CHANGED, partner=partner, actor=by,
                     required=required)
