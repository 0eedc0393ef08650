"""Writes that span accounts, installs, attempts and the audit log -- and the auth flows.

Every function here is keyword-only, does its database writes in one
`transaction.atomic()` with its audit event, and keeps provider calls (which may take
up to OUTBOUND_TIMEOUT) outside of any transaction.

Where things live on an install:

- ``Install.values`` -- non-secret values entered at install (e.g. ``subdomain``), plus
  ``values["_token_info"]``: non-secret facts from authentication (granted ``scope``,
  Salesforce's ``instance_url``, QuickBooks' ``realmId``), shown on the install page
  without decrypting anything. Field keys never start with "_", so nothing collides.
- ``Install.secret_values`` (encrypted) -- secret values entered at install (e.g. a
  client secret the partner left blank).
- ``Install.credentials`` (encrypted) -- what authentication produced, per method:
  oauth2 / client credentials ``{"access_token", "refresh_token", "token_type", "scope"}``,
  oauth1 ``{"oauth_token", "oauth_token_secret"}``, api_key ``{"api_key"}``, basic
  ``{"username", "password"}``. For api_key and basic the entered values are *moved*
  here on success (and dropped when the provider rejects them), so deauthenticating
  deletes them and reauthenticating asks for them again.
- ``Install.values[key]`` for a ``level = "captured"`` field -- filled from the token
  response or callback at sign-in (e.g. Salesforce's ``instance_url``), never asked.
- ``Install.expires_at`` -- from the token response's ``expires_in`` (or the catalogue's
  ``default_expires_in``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import requests
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from oauthlib.oauth2 import OAuth2Error

from accounts import audit, refresh, revocation
from accounts.locking import row_lock_scope
from accounts.models import Account, AuthAttempt, Install, InstallLink, Partner
from connectors.auth import build_method
from connectors.auth.base import (
    AuthError,
    AuthMethod,
    ConsentDenied,
    Context,
    Credentials,
    InvalidCallback,
    TransientError,
)
from connectors.crypto import is_unreadable
from connectors.models import Connector, PartnerAuthSettings
from connectors.services import callback_url
from connectors.spec import FieldSpec

log = logging.getLogger("hatchway.auth")
security_log = logging.getLogger("hatchway.security")

TOKEN_INFO_KEY = "_token_info"
STALE_MESSAGE = "This sign-in link is no longer valid — restart the install."


class MissingValues(AuthError):
    """Authentication needs values nobody has entered yet (or that were consumed)."""

    kind = "missing_values"

    def __init__(self, fields: list[FieldSpec]) -> None:
        labels = [f.label for f in fields]
        listed = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        super().__init__(f"Enter the {listed} first.")
        self.fields = fields


class DuplicateExternalId(ValueError):
    """Another account of the partner already has this external id."""


# --- values and the configured method --------------------------------------------------


def partner_settings(partner: Partner | int, connector: Connector) -> PartnerAuthSettings | None:
    partner_id = partner if isinstance(partner, int) else partner.pk
    return PartnerAuthSettings.objects.filter(partner_id=partner_id, connector=connector).first()


def asked_fields(connector: Connector, partner: Partner) -> list[FieldSpec]:
    """What an install asks: every account-level field, and partner-level ones left blank
    (captured values are never asked: the sign-in fills them)."""
    saved = partner_settings(partner, connector)
    return [f for f in connector.spec.fields if not f.is_captured and (
        not f.is_partner_level or saved is None or not saved.is_set(f.key))]


def _readable(values: Any) -> dict[str, Any]:
    return {} if is_unreadable(values) else dict(values or {})


def merged_values(install: Install) -> dict[str, str]:
    """Partner settings, then install values for the keys the partner left blank."""
    saved = partner_settings(install.account.partner_id, install.connector)
    merged: dict[str, str] = {}
    if saved is not None:
        merged = {k: str(v) for k, v in {**saved.values, **_readable(saved.secret_values)}.items()
                  if v}
    entered = {**install.values, **_readable(install.secret_values)}
    for key, value in entered.items():
        if value and not key.startswith("_") and not merged.get(key):
            merged[key] = str(value)
    return merged


def method_for(install: Install) -> AuthMethod:
    """The connector's auth method, configured with this install's merged values."""
    context = Context(spec=install.connector.spec, values=merged_values(install),
                      install=install, callback_url=callback_url())
    return build_method(context)


def missing_fields(install: Install) -> list[FieldSpec]:
    values = merged_values(install)
    return [f for f in install.connector.spec.fields
            if f.required and not f.is_captured and not values.get(f.key)]


def authorised_session(install: Install) -> requests.Session:
    """An authorised session for calling the provider's API as this install."""
    install = refresh.ensure_fresh(install)
    if not install.credentials and install.connector.auth_type != "none":
        raise AuthError("This install is not authenticated.", kind="configuration")
    return method_for(install).session(dict(install.credentials))


# --- accounts and installs -------------------------------------------------------------


def create_account(*, partner: Partner, name: str, external_id: str, actor: Any) -> Account:
    try:
        with transaction.atomic():
            account = Account.objects.create(partner=partner, name=name, external_id=external_id)
            audit.record("account.created", partner=partner, actor=actor, account=account)
    except IntegrityError:
        raise DuplicateExternalId(external_id) from None
    return account


def _actor_label(link: InstallLink | None) -> str:
    """Who acted, for the audit log, when a customer acts through an install link."""
    return audit.LINK_ACTOR if link else ""


def create_install(*, account: Account, connector: Connector, name: str = "",
                   values: dict[str, str] | None = None, actor: Any,
                   link: InstallLink | None = None) -> Install:
    """A pending install with the values it asked for (secrets encrypted).

    `values` are by field key; only the fields the install asks (see `asked_fields`) are
    kept.
    """
    asked = {f.key: f for f in asked_fields(connector, account.partner)}
    entered = {k: v for k, v in (values or {}).items() if k in asked and v}
    with transaction.atomic():
        install = Install.objects.create(
            account=account, connector=connector, name=name,
            values={k: v for k, v in entered.items() if not asked[k].secret},
            secret_values={k: v for k, v in entered.items() if asked[k].secret},
            created_by=audit.as_user(actor),
        )
        audit.record("install.created", partner=account.partner, actor=actor,
                     actor_label=_actor_label(link), install=install, fields=sorted(entered))
    return install


def update_install_values(*, install: Install, name: str, values: dict[str, str],
                          actor: Any, link: InstallLink | None = None) -> Install:
    """Edit an install's values. A secret left out keeps its stored value."""
    asked = {f.key: f for f in asked_fields(install.connector, install.account.partner)}
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install.pk)
        plain, secret = dict(install.values), _readable(install.secret_values)
        changed = []
        for key, value in values.items():
            if key not in asked:
                continue
            target = secret if asked[key].secret else plain
            if target.get(key, "") != value:
                changed.append(key)
            if value:
                target[key] = value
            else:
                target.pop(key, None)
        install.name = name
        install.values = plain
        # Unreadable secrets are kept as they are until a secret is entered again.
        if any(asked[key].secret for key in changed) or not is_unreadable(install.secret_values):
            install.secret_values = secret
        install.save(update_fields=["name", "values", "secret_values", "updated_at"])
        audit.record("install.updated", partner=install.account.partner, actor=actor,
                     actor_label=_actor_label(link), install=install, fields=sorted(changed))
    return install


# --- authentication ----------------------------------------------------------------------


def session_hash(request: HttpRequest, *, create: bool = False) -> str:
    """SHA-256 of the browser's session key; with `create`, make sure there is a session."""
    if not request.session.session_key:
        if not create:
            return ""
        request.session.save()
        request.session.modified = True  # so the middleware sends the cookie
    return hashlib.sha256(request.session.session_key.encode()).hexdigest()


@contextmanager
def _safe_errors(what: str) -> Iterator[None]:
    """Whatever a provider or a library throws becomes an AuthError: never a 500."""
    try:
        yield
    except AuthError:
        raise
    except (OAuth2Error, requests.RequestException, ValueError, KeyError, TypeError) as exc:
        # The type only: the message could quote a response body or a token.
        log.warning("%s failed with %s", what, type(exc).__name__)
        raise AuthError(f"{what} failed unexpectedly.", kind="error") from None


def start_authentication(*, install: Install, request: HttpRequest, actor: Any = None,
                         link: InstallLink | None = None) -> str | None:
    """Start (or redo) authentication of an install.

    Browser flows: create the AuthAttempt bound to this browser session and return the
    provider URL to redirect to. Client credentials, API key, basic, none: authenticate
    at once and return None. Raises AuthError (message safe to show) when it cannot
    start or fails -- already recorded on the install and in the audit log -- and
    MissingValues when required values must be entered first.
    """
    missing = missing_fields(install)
    if missing:
        raise MissingValues(missing)
    method = method_for(install)
    label = _actor_label(link)
    if not method.browser_flow:
        _record_started(install, actor, label, method)
        _authenticate(install, method, attempt=None, params={}, actor=actor, actor_label=label)
        return None
    attempt = AuthAttempt(install=install, session_hash=session_hash(request, create=True),
                          install_link=link, expires_at=timezone.now() + AuthAttempt.LIFETIME,
                          created_by=audit.as_user(actor))
    try:
        with _safe_errors("Starting the sign-in"):
            url = method.begin(attempt)
    except AuthError as error:
        _record_failure(install.pk, method, error, actor=actor, actor_label=label, stage="begin")
        raise
    with transaction.atomic():
        # Expired, never-used attempts of this install keep no secrets around.
        AuthAttempt.objects.filter(install=install, used_at__isnull=True,
                                   expires_at__lte=timezone.now()).update(
            used_at=timezone.now(), secrets={})
        attempt.save()
        _record_started(install, actor, label, method)
    log.info("install %s: sign-in started (attempt %s)", install.pk, attempt.pk)
    return url


def _record_started(install: Install, actor: Any, label: str, method: AuthMethod) -> None:
    audit.record("install.auth_started", partner=install.account.partner, actor=actor,
                 actor_label=label, install=install, auth_type=method.type)


def _authenticate(install: Install, method: AuthMethod, *, attempt: AuthAttempt | None,
                  params: dict[str, str], actor: Any, actor_label: str) -> Install:
    """Complete, verify, then store -- or record the failure and raise it."""
    try:
        with _safe_errors("The sign-in"):
            credentials = method.complete(attempt, params)
            method.verify(credentials.data)
    except AuthError as error:
        _record_failure(install.pk, method, error, actor=actor, actor_label=actor_label,
                        stage="complete")
        raise
    return _record_success(install.pk, method, credentials, actor=actor, actor_label=actor_label)


def _record_success(install_id: int, method: AuthMethod, credentials: Credentials, *,
                    actor: Any, actor_label: str) -> Install:
    now = timezone.now()
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        previous = install.status
        _drop_entered_credentials(install, method)  # they are in the credentials now
        install.values.pop(TOKEN_INFO_KEY, None)
        if credentials.info:
            install.values[TOKEN_INFO_KEY] = credentials.info
        install.values.update(credentials.captured)  # checked against their patterns
        install.credentials = credentials.data
        install.expires_at = credentials.expires_at
        install.status = Install.Status.AUTHENTICATED
        install.last_error = ""
        install.refresh_failures = 0
        install.next_refresh_at = None
        install.authenticated_at = now
        install.save()
        audit.record("install.authenticated", partner=install.account.partner, actor=actor,
                     actor_label=actor_label, install=install, auth_type=method.type,
                     verified=method.has_verify, previous_status=previous)
    log.info("install %s: authenticated", install.pk)
    return install


def _drop_entered_credentials(install: Install, method: AuthMethod) -> None:
    """Take the entered values that authenticate (api_key, basic) off the install's values."""
    install.values = {k: v for k, v in install.values.items() if k not in method.credential_keys}
    if not is_unreadable(install.secret_values):
        install.secret_values = {k: v for k, v in install.secret_values.items()
                                 if k not in method.credential_keys}


def _record_failure(install_id: int, method: AuthMethod, error: AuthError, *, actor: Any,
                    actor_label: str, stage: str) -> None:
    """Nothing half-saved: credentials are never touched here.

    A cancelled consent changes nothing. A bad callback is only audited. Other failures
    set last_error, and "Error" unless the install still has working credentials (a
    failed reauthentication does not break a working install).
    """
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        partner = install.account.partner
        if isinstance(error, ConsentDenied):
            audit.record("install.cancelled", partner=partner, actor=actor,
                         actor_label=actor_label, install=install)
            return
        audit.record("install.auth_failed", partner=partner, actor=actor, actor_label=actor_label,
                     install=install, kind=error.kind, stage=stage)
        if isinstance(error, InvalidCallback):
            return
        if install.status not in refresh.REFRESHABLE:  # still working: keep its status
            install.status = Install.Status.ERROR
        install.last_error = error.message[:500]
        if error.kind == "verify_failed":
            # Rejected keys or passwords are not kept: reauthenticating asks for them again.
            _drop_entered_credentials(install, method)
        install.save()
    log.info("install %s: authentication failed (%s at %s)", install_id, error.kind, stage)


# --- the callback ------------------------------------------------------------------------


@dataclass
class CallbackOutcome:
    """What the callback view shows: outcome "connected" | "cancelled" | "error"."""

    outcome: str
    message: str = ""
    install: Install | None = None
    retry: bool = False
    bad_request: bool = False


def claim_attempt(*, state: str, request: HttpRequest) -> AuthAttempt:
    """The attempt `state` names, marked used (single use) with its secrets deleted.

    Raises InvalidCallback when the state is unknown, used, expired, belongs to another
    browser session or was started through an install link revoked since. A found attempt
    is consumed whatever the reason.
    """
    attempt = (AuthAttempt.objects.select_related("install__connector", "install__account__partner",
                                                  "install_link__account__partner")
               .filter(state=state).first())
    if attempt is None:
        security_log.warning("callback refused: unknown state")
        raise InvalidCallback(STALE_MESSAGE)
    now = timezone.now()
    # A conditional update: of two concurrent callbacks only one claims the attempt.
    claimed = AuthAttempt.objects.filter(pk=attempt.pk, used_at__isnull=True).update(
        used_at=now, secrets={})
    reason = ""
    if not claimed:
        reason = "already used"
    elif attempt.expires_at <= now:
        reason = "expired"
    elif not hmac.compare_digest(attempt.session_hash, session_hash(request)):
        reason = "another browser session"
    elif attempt.install_link is not None and attempt.install_link.revoked_at:
        # Revoking a link (e.g. one that leaked) also stops sign-ins it already started.
        reason = "install link revoked"
    if reason:
        security_log.warning("callback refused for attempt %s: %s", attempt.pk, reason)
        raise InvalidCallback(STALE_MESSAGE)
    return attempt


ATTEMPT_RETENTION = timedelta(days=30)


def purge_expired_attempts(*, now: datetime | None = None) -> tuple[int, int]:
    """Forget sign-ins nobody finished, and old attempt rows.

    An abandoned attempt would otherwise keep its PKCE verifier or OAuth 1.0a
    request-token secret (encrypted) until its install is authenticated again: expired,
    unused attempts are consumed with their secrets wiped. Rows older than
    ATTEMPT_RETENTION are deleted. Returns (wiped, deleted).
    """
    now = now or timezone.now()
    wiped = AuthAttempt.objects.filter(expires_at__lte=now, used_at__isnull=True).update(
        used_at=now, secrets={})
    deleted, _ = AuthAttempt.objects.filter(created_at__lt=now - ATTEMPT_RETENTION).delete()
    if wiped or deleted:
        log.info("auth attempts: %s expired wiped, %s old deleted", wiped, deleted)
    return wiped, deleted


def finish_callback(*, attempt: AuthAttempt, params: dict[str, str]) -> CallbackOutcome:
    """Complete a claimed attempt with the provider's callback parameters."""
    install = attempt.install
    label = _actor_label(attempt.install_link)
    try:
        with _safe_errors("The sign-in"):
            method = method_for(install)
        install = _authenticate(install, method, attempt=attempt, params=params,
                                actor=attempt.created_by, actor_label=label)
    except ConsentDenied as error:
        return CallbackOutcome("cancelled", error.message, install)
    except InvalidCallback as error:
        return CallbackOutcome("error", error.message, install, bad_request=True)
    except AuthError as error:
        return CallbackOutcome("error", error.message, install,
                               retry=isinstance(error, TransientError))
    return CallbackOutcome("connected", f"{install.display_name} is connected.", install)


# --- using, checking and removing credentials ------------------------------------------


@dataclass
class ConnectionCheck:
    ok: bool
    message: str


def test_connection(*, install: Install, actor: Any) -> ConnectionCheck:
    """Run the connector's verify request with the install's (fresh) credentials."""
    try:
        install = refresh.ensure_fresh(install)
    except AuthError as error:
        return ConnectionCheck(False, error.message)
    if install.credentials_unreadable:
        return ConnectionCheck(False, "The stored credentials cannot be read — reauthenticate.")
    method = method_for(install)
    if not install.credentials and method.type != "none":
        return ConnectionCheck(False, "This install is not authenticated yet.")
    if not method.has_verify:
        return ConnectionCheck(True, "This connector defines no test request; "
                                "its credentials are stored.")
    try:
        with _safe_errors("The test request"):
            method.verify(dict(install.credentials))
    except AuthError as error:
        _record_verify(install.pk, error, actor=actor)
        return ConnectionCheck(False, error.message)
    _record_verify(install.pk, None, actor=actor)
    return ConnectionCheck(True, "Connection works: the provider accepted the credentials.")


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _record_verify(install_id: int, error: AuthError | None, *, actor: Any) -> None:
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        partner = install.account.partner
        if error is None:
            if install.status == Install.Status.ERROR:
                install.status, install.last_error = Install.Status.AUTHENTICATED, ""
                install.save(update_fields=["status", "last_error", "updated_at"])
            audit.record("install.verified", partner=partner, actor=actor, install=install)
            return
        if not isinstance(error, TransientError):
            install.status, install.last_error = Install.Status.ERROR, error.message[:500]
            install.save(update_fields=["status", "last_error", "updated_at"])
        audit.record("install.verify_failed", partner=partner, actor=actor, install=install,
                     kind=error.kind)


def _revoke(install: Install) -> tuple[str, Callable[..., object] | None]:
    """Ask the provider to revoke (RFC 7009). Returns the outcome word for the audit log
    and the message and, when the provider was unavailable, the call (still wanting the
    actor) that keeps what revoking needs, encrypted, for `refresh_tokens` to retry."""
    if install.credentials_unreadable or not install.credentials:
        return "nothing_to_revoke", None
    method = method_for(install)
    if not method.spec.auth.revoke_url:
        return "not_supported", None
    try:
        with _safe_errors("The revocation"):
            method.revoke(dict(install.credentials))
    except TransientError as error:
        return "unavailable", partial(
            revocation.schedule, install=install, error=error, values=method.context.values,
            credentials=method.revocation_credentials(dict(install.credentials)))
    except AuthError:
        return "failed", None
    return "revoked", None


def _revoke_then(install: Install, finish: Callable[[Install, str], None], *,
                 actor: Any) -> str:
    """Revoke where possible, then `finish(locked install, outcome)` in one transaction.

    The install's row stays locked for the whole revocation (see accounts/locking.py), so
    no worker rotates the token between the revocation and `finish`. A revocation the
    provider could not take now is kept, in the same transaction, to be retried.
    """
    with row_lock_scope():
        locked = Install.objects.for_update().filter(pk=install.pk).first()
        if locked is None:  # deleted meanwhile
            return "nothing_to_revoke"
        outcome, keep_for_retry = _revoke(locked)
        with transaction.atomic():
            if keep_for_retry is not None:
                keep_for_retry(actor=actor)
            finish(locked, outcome)
    return outcome


def deauthenticate(*, install: Install, actor: Any) -> str:
    """Revoke at the provider where possible, then delete the local credentials either way.

    The install is kept (status "Deauthenticated"). Returns the revocation outcome:
    "revoked", "not_supported", "unavailable" (retried later by `refresh_tokens`), "failed"
    or "nothing_to_revoke".
    """
    def clear_credentials(locked: Install, outcome: str) -> None:
        locked.credentials = {}
        locked.expires_at = None
        locked.status = Install.Status.DEAUTHENTICATED
        locked.last_error = ""
        locked.refresh_failures = 0
        locked.next_refresh_at = None
        locked.values = {k: v for k, v in locked.values.items() if k != TOKEN_INFO_KEY}
        locked.save()
        audit.record("install.deauthenticated", partner=locked.account.partner,
                     actor=actor, install=locked, revocation=outcome)

    return _revoke_then(install, clear_credentials, actor=actor)


def delete_install(*, install: Install, actor: Any) -> str:
    """Revoke where possible and delete the install. Returns the revocation outcome.

    A revocation the provider could not take now is kept and retried after the install is
    gone (its pending row then names no install).
    """
    def delete(locked: Install, outcome: str) -> None:
        audit.record("install.deleted", partner=locked.account.partner, actor=actor,
                     account=locked.account, connector=locked.connector,
                     install_id=locked.pk, revocation=outcome)
        locked.delete()

    return _revoke_then(install, delete, actor=actor)
