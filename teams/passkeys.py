"""Passkeys (WebAuthn) on Yubico's fido2 server: the relying party is PUBLIC_URL's host; a
ceremony's state (its challenge) waits in the session, single use.

- As a second factor: after the password, an assertion from one of the user's passkeys.
- As a sign-in on its own ("Sign in with a passkey"): a discoverable credential (resident
  key) is asked for with no allowCredentials; the assertion names its credential, found
  here by its id, and must be user-verified (PIN or biometrics on the authenticator), so it
  is both factors. Its challenge expires after `SIGN_IN_SECONDS`.

Either way the authenticator's signature counter must move forward (when it counts at all):
fido2 verifies signature, challenge, origin and RP id hash; `_check_sign_count` adds that.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.models import User
from audit import events as audit
from teams.models import Passkey

STATE_KEY = "teams_webauthn_state"
#: The pending "Sign in with a passkey" ceremony: its fido2 state, when it began, and the
#: page to go to after it.
SIGN_IN_KEY = "teams_passkey_sign_in"
SIGN_IN_SECONDS = 120


class PasskeyRefused(ValueError):
    """The assertion does not sign anyone in (the reason is for the security log only);
    `user` is the user of the credential it named, when that credential is known."""

    def __init__(self, reason: str, user: User | None = None) -> None:
        super().__init__(reason)
        self.user = user


def _server() -> Fido2Server:
    host = urlparse(settings.PUBLIC_URL).hostname or "localhost"
    return Fido2Server(PublicKeyCredentialRpEntity(id=host, name="Hatchway"))


def _credentials(user: User) -> list[AttestedCredentialData]:
    return [AttestedCredentialData(bytes(p.credential_data)) for p in user.passkeys.all()]


def register_begin(session: SessionBase, user: User) -> dict[str, Any]:
    """New passkeys are asked to be discoverable (resident keys), so they can also sign in;
    an authenticator that cannot keep one still gives a passkey that works as a second
    factor."""
    options, state = _server().register_begin(
        PublicKeyCredentialUserEntity(id=str(user.pk).encode(), name=user.email,
                                      display_name=user.get_full_name() or user.email),
        _credentials(user), resident_key_requirement=ResidentKeyRequirement.PREFERRED,
        user_verification=UserVerificationRequirement.PREFERRED)
    session[STATE_KEY] = state
    return dict(options)


def register_complete(session: SessionBase, user: User, response: dict[str, Any]) -> Passkey:
    """Raises ValueError (or KeyError without a ceremony) when the response does not verify."""
    state = session.pop(STATE_KEY)
    auth_data = _server().register_complete(state, response)
    data = auth_data.credential_data
    if data is None:
        raise ValueError("no credential in the response")
    with transaction.atomic():
        passkey = Passkey.objects.create(user=user, credential_id=data.credential_id,
                                         credential_data=bytes(data),
                                         sign_count=auth_data.counter)
        for partner_id in user.memberships.values_list("partner_id", flat=True):
            audit.record(audit.Action.PASSKEY_ADDED, partner=partner_id, actor=user)
    return passkey


def authenticate_begin(session: SessionBase, user: User) -> dict[str, Any]:
    options, state = _server().authenticate_begin(
        _credentials(user), user_verification=UserVerificationRequirement.DISCOURAGED)
    session[STATE_KEY] = state
    return dict(options)


def authenticate_complete(session: SessionBase, user: User, response: dict[str, Any]) -> None:
    """Raises ValueError (or KeyError without a ceremony) when the assertion does not verify."""
    state = session.pop(STATE_KEY)
    used = _server().authenticate_complete(state, _credentials(user), response)
    with transaction.atomic():
        passkey = Passkey.objects.select_for_update().get(user=user,
                                                          credential_id=used.credential_id)
        _use(passkey, AuthenticationResponse.from_dict(response))


def sign_in_begin(session: SessionBase, next_url: str) -> dict[str, Any]:
    """The challenge of "Sign in with a passkey": no allowCredentials (the authenticator
    offers its discoverable credentials for this RP), user verification required."""
    options, state = _server().authenticate_begin(
        None, user_verification=UserVerificationRequirement.REQUIRED)
    session[SIGN_IN_KEY] = {"state": state, "at": time.time(), "next": next_url}
    return dict(options)


def sign_in_complete(session: SessionBase, response: dict[str, Any]) -> tuple[Passkey, str]:
    """The passkey (with its user) the assertion verifies for, and the page to go to after.
    The challenge is spent whatever happens. Raises PasskeyRefused (a ValueError), or
    KeyError/TypeError on a malformed response."""
    pending = session.pop(SIGN_IN_KEY, None)
    if not pending or time.time() - pending["at"] > SIGN_IN_SECONDS:
        raise PasskeyRefused("no sign-in challenge, or it expired")
    assertion = AuthenticationResponse.from_dict(response)
    with transaction.atomic():
        passkey = (Passkey.objects.select_for_update().select_related("user")
                   .filter(credential_id=assertion.raw_id).first())
        if passkey is None:
            raise PasskeyRefused("unknown credential")
        handle = assertion.response.user_handle
        if handle is not None and handle != str(passkey.user_id).encode():
            raise PasskeyRefused("the user handle is not the credential's user's", passkey.user)
        credential = AttestedCredentialData(bytes(passkey.credential_data))
        try:
            _server().authenticate_complete(pending["state"], [credential], response)
            _use(passkey, assertion)
        except ValueError as exc:
            raise PasskeyRefused(str(exc), passkey.user) from exc
    return passkey, str(pending["next"])


def _use(passkey: Passkey, assertion: AuthenticationResponse) -> None:
    """A verified assertion: the counter moves forward, the passkey was used now (the
    caller holds the row locked)."""
    counter = assertion.response.authenticator_data.counter
    _check_sign_count(passkey.sign_count, counter)
    passkey.sign_count = counter
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "last_used_at"])


def _check_sign_count(stored: int, received: int) -> None:
    """WebAuthn §6.1.1: a counter that does not exceed the stored one, when either is not
    zero, may mean a cloned authenticator. (Zero both times: it does not count, as synced
    passkeys do not.)"""
    if (stored or received) and received <= stored:
        raise PasskeyRefused("the signature counter did not increase")
