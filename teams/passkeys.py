"""Passkeys (WebAuthn) as a second factor, on Yubico's fido2 server: the relying party is
PUBLIC_URL's host; a ceremony's state (its challenge) waits in the session, single use."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
)

from accounts.models import User
from audit import events as audit
from teams.models import Passkey

STATE_KEY = "teams_webauthn_state"


def _server() -> Fido2Server:
    host = urlparse(settings.PUBLIC_URL).hostname or "localhost"
    return Fido2Server(PublicKeyCredentialRpEntity(id=host, name="Hatchway"))


def _credentials(user: User) -> list[AttestedCredentialData]:
    return [AttestedCredentialData(bytes(p.credential_data)) for p in user.passkeys.all()]


def register_begin(session: SessionBase, user: User) -> dict[str, Any]:
    options, state = _server().register_begin(
        PublicKeyCredentialUserEntity(id=str(user.pk).encode(), name=user.email,
                                      display_name=user.get_full_name() or user.email),
        _credentials(user), user_verification=UserVerificationRequirement.DISCOURAGED)
    session[STATE_KEY] = state
    return dict(options)


def register_complete(session: SessionBase, user: User, response: dict[str, Any]) -> Passkey:
    """Raises ValueError (or KeyError without a ceremony) when the response does not verify."""
    state = session.pop(STATE_KEY)
    data = _server().register_complete(state, response).credential_data
    if data is None:
        raise ValueError("no credential in the response")
    with transaction.atomic():
        passkey = Passkey.objects.create(user=user, credential_id=data.credential_id,
                                         credential_data=bytes(data))
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
    Passkey.objects.filter(user=user, credential_id=used.credential_id).update(
        last_used_at=timezone.now())
