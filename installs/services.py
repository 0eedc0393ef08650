"""Writes that span installs, attempts, accounts and the audit log -- and the auth flows.

Every function here is keyword-only, does its database writes in one
`transaction.atomic()` with its audit event (the install's own transitions are its
`mark_*` methods), and keeps provider calls (which may take up to OUTBOUND_TIMEOUT)
outside of any transaction. Where things live on an install: see `installs.models.Install`.
For api_key and basic the entered values are *moved* into the credentials on success
(and dropped when the provider rejects them), so deauthenticating deletes them and
reauthenticating asks for them again.
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
from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from oauthlib.oauth2 import OAuth2Error

from accounts.models import Account, Partner
from audit import events as audit
from connectors.auth.base import (
    AuthError,
    AuthMethod,
    ConsentDenied,
    Credentials,
    InvalidCallback,
    TransientError,
)
from connectors.models import Connector
from connectors.services import apply_entered
from core import metrics
from core.fields import is_unreadable
from core.locking import row_lock_scope
from core.sessions import customer_session
from core.text import validate_name
from installs import refresh, revocation
from installs.models import AuthAttempt, Install, Revocation, SignInOutcome
from installs.values import MissingValues, Saved, Setup, asked_fields

log = logging.getLogger("hatchway.auth")
security_log = logging.getLogger("hatchway.security")

STALE_MESSAGE = "This sign-in link is no longer valid — restart the install."


class DuplicateExternalId(ValueError):
    """Another account of the partner already has this external id."""


class NotWorking(Exception):
    """The install has no working credentials (not authenticated, or needing a person)."""

    def __init__(self, install: Install) -> None:
        super().__init__(f"This install is {install.get_status_display().lower()}.")
        self.install = install


def authorised_session(install: Install) -> requests.Session:
    """An authorised session for calling the provider's API as this install."""
    install = refresh.ensure_fresh(install)
    if not install.credentials and install.connector.auth_type != "none":
        raise AuthError("This install is not authenticated.", kind="configuration")
    return Setup.of(install).method().session(dict(install.credentials))


@dataclass
class SharedCredentials:
    """What the partner API hands out: the keys calling the provider needs (see
    `AuthMethod.shared_keys`), when they expire, and where the provider's API is."""

    type: str
    credentials: dict[str, Any]
    expires_at: datetime | None
    base_url: str


def working(install: Install, *, force_refresh: bool = False) -> Install:
    """The install refreshed first when due (or forced); NotWorking unless it works."""
    install = refresh.ensure_fresh(install, force=force_refresh)
    if not install.is_working or install.credentials_unreadable:
        raise NotWorking(install)
    return install


def share_credentials(*, install: Install, actor_label: str,
                      force_refresh: bool = False) -> SharedCredentials:
    """Fresh decrypted credentials for the partner's backend; every read is audited
    (counted per reader, install and minute -- the value never)."""
    install = working(install, force_refresh=force_refresh)
    method = Setup.of(install).method()
    data = dict(install.credentials)
    audit.record_counted(audit.Action.INSTALL_CREDENTIALS_READ, partner=install.account.partner,
                         actor_label=actor_label, install=install)
    return SharedCredentials(type=method.type,
                             credentials={k: data[k] for k in method.shared_keys if k in data},
                             expires_at=install.expires_at, base_url=method.base_url)


# --- accounts and installs -------------------------------------------------------------


def create_account(*, partner: Partner, name: str, external_id: str, actor: Any,
                   actor_label: str = "") -> Account:
    """A new account; ValidationError for a name with hidden characters (core/text.py)."""
    validate_name(name)
    try:
        with transaction.atomic():
            account = Account.objects.create(partner=partner, name=name, external_id=external_id)
            audit.record(audit.Action.ACCOUNT_CREATED, partner=partner, actor=actor,
                         actor_label=actor_label, account=account)
    except IntegrityError:
        raise DuplicateExternalId(external_id) from None
    return account


def update_account(*, account: Account, actor: Any, actor_label: str = "",
                   **changes: str) -> Account:
    """Rename an account or change its external id (`name`, `external_id`)."""
    changed = sorted(k for k, v in changes.items() if getattr(account, k) != v)
    if not changed:
        return account
    try:
        with transaction.atomic():
            for key in changed:
                setattr(account, key, changes[key])
            account.save(update_fields=changed)
            audit.record(audit.Action.ACCOUNT_UPDATED, partner=account.partner, actor=actor,
                         actor_label=actor_label, account=account, fields=changed)
    except IntegrityError:
        account.refresh_from_db()
        raise DuplicateExternalId(changes.get("external_id", "")) from None
    return account


def link_actor_label(link_id: int | None, label: str = "") -> str:
    """Who acted, for the audit log: `label` (e.g. an API key), or the install link a
    customer acts through."""
    return label or (audit.LINK_ACTOR if link_id else "")


def create_install(*, account: Account, connector: Connector, name: str = "",
                   values: dict[str, str] | None = None, actor: Any,
                   link_id: int | None = None, actor_label: str = "",
                   saved: Saved | None = None) -> Install:
    """A pending install with the values it asked for (secrets encrypted).

    `values` are by field key; only the fields the install asks (see `asked_fields`) are
    kept. A name with hidden characters is a ValidationError (core/text.py).
    """
    validate_name(name)
    asked = {f.key: f for f in asked_fields(connector, account.partner, saved=saved)}
    entered = {k: v for k, v in (values or {}).items() if k in asked and v}
    with transaction.atomic():
        install = Install.objects.create(
            account=account, connector=connector, name=name,
            values={k: v for k, v in entered.items() if not asked[k].secret},
            secret_values={k: v for k, v in entered.items() if asked[k].secret},
            created_by=audit.as_user(actor),
        )
        audit.record(audit.Action.INSTALL_CREATED, partner=account.partner, actor=actor,
                     actor_label=link_actor_label(link_id, actor_label), install=install,
                     fields=sorted(entered))
    return install


def update_install_values(*, install: Install, name: str, values: dict[str, str],
                          actor: Any, link_id: int | None = None,
                          saved: Saved | None = None) -> Install:
    """Edit an install's values. A secret left out (or blank) keeps its stored value."""
    validate_name(name)
    asked = asked_fields(install.connector, install.account.partner, saved=saved)
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install.pk)
        result = apply_entered(asked, values=install.values,
                               secret_values=install.secret_values, entered=values)
        install.name = name
        install.values, install.secret_values = result.values, result.secret_values
        install.save(update_fields=["name", "values", "secret_values", "updated_at"])
        audit.record(audit.Action.INSTALL_UPDATED, partner=install.account.partner, actor=actor,
                     actor_label=link_actor_label(link_id), install=install,
                     fields=sorted(result.changed))
    return install


# --- authentication ----------------------------------------------------------------------


def session_hash(session: SessionBase, *, create: bool = False) -> str:
    """SHA-256 of the browser's session key; with `create`, make sure there is a session."""
    if not session.session_key:
        if not create:
            return ""
        session.save()
        session.modified = True  # so the middleware sends the cookie
    session_key = session.session_key
    assert session_key is not None  # save() above gave the session one
    return hashlib.sha256(session_key.encode()).hexdigest()


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
                         link_id: int | None = None, saved: Saved | None = None) -> str | None:
    """Start (or redo) authentication of an install.

    Browser flows: create the AuthAttempt bound to this browser session and return the
    provider URL to redirect to. Client credentials, API key, basic, none: authenticate
    at once and return None. Raises AuthError (message safe to show) when it cannot
    start or fails -- already recorded on the install and in the audit log -- and
    MissingValues when required values must be entered first. `link_id`: the install
    link a customer acts through; `saved`: the partner's settings, if already read.
    """
    method = _ready_method(install, saved=saved)
    label = link_actor_label(link_id)
    if not method.browser_flow:
        _authenticate_at_once(install, method, actor=actor, actor_label=label)
        return None
    # On the customer pages request.session is the customer session (core/sessions.py).
    attempt = AuthAttempt(install=install, session_hash=session_hash(request.session,
                                                                     create=True),
                          install_link_id=link_id,
                          expires_at=timezone.now() + AuthAttempt.LIFETIME,
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


def authenticate_now(*, install: Install, actor: Any, actor_label: str = "") -> Install:
    """Authenticate an install whose method needs no browser (the partner API's path).

    The same steps as `start_authentication` without a browser request: complete, verify,
    store -- or record the failure and raise it. A browser flow raises AuthError.
    """
    method = _ready_method(install)
    if method.browser_flow:
        raise AuthError("This connector signs in through a browser: use an install link.",
                        kind="configuration")
    return _authenticate_at_once(install, method, actor=actor, actor_label=actor_label)


def create_authenticated_install(*, account: Account, connector: Connector, name: str = "",
                                 values: dict[str, str] | None = None, actor: Any,
                                 actor_label: str = "") -> Install:
    """Create an install of a browser-less method and authenticate it at once.

    When authentication fails the install is deleted again (nothing half-saved; the
    audit log keeps the attempt) and the AuthError (or MissingValues) is raised.
    """
    install = create_install(account=account, connector=connector, name=name, values=values,
                             actor=actor, actor_label=actor_label)
    try:
        return authenticate_now(install=install, actor=actor, actor_label=actor_label)
    except AuthError:
        delete_install(install=install, actor=actor, actor_label=actor_label)
        raise


def _ready_method(install: Install, *, saved: Saved | None = None) -> AuthMethod:
    """The install's configured method, once every required value is entered."""
    setup = Setup.of(install, saved=saved)
    missing = setup.missing()
    if missing:
        raise MissingValues(missing)
    return setup.method(browser=True)


def _authenticate_at_once(install: Install, method: AuthMethod, *, actor: Any,
                          actor_label: str) -> Install:
    _record_started(install, actor, actor_label, method)
    return _authenticate(install, method, attempt=None, params={}, actor=actor,
                         actor_label=actor_label)


def _record_started(install: Install, actor: Any, label: str, method: AuthMethod) -> None:
    audit.record(audit.Action.INSTALL_AUTH_STARTED, partner=install.account.partner,
                 actor=actor, actor_label=label, install=install, auth_type=method.type)


def _authenticate(install: Install, method: AuthMethod, *, attempt: AuthAttempt | None,
                  params: dict[str, str], actor: Any, actor_label: str) -> Install:
    """Complete, commit the credentials, verify, then mark -- or record the failure and
    raise it.

    The credentials are committed as soon as the provider has handed them over, before
    the verify request (up to OUTBOUND_TIMEOUT), with the install's status unchanged: it
    reads "Authenticated" only once the check passed, and a failed check puts the earlier
    credentials back (nothing half-saved).
    """
    try:
        with _safe_errors("The sign-in"):
            credentials = method.complete(attempt, params)
    except AuthError as error:
        _record_failure(install.pk, method, error, actor=actor, actor_label=actor_label,
                        stage="complete")
        raise
    earlier = _store_received(install.pk, credentials)
    try:
        with _safe_errors("The sign-in"):
            method.verify(credentials.data)
    except AuthError as error:
        _record_failure(install.pk, method, error, actor=actor, actor_label=actor_label,
                        stage="complete", put_back=(credentials, earlier))
        raise
    return _record_success(install.pk, method, credentials, actor=actor, actor_label=actor_label)


def _store_received(install_id: int, credentials: Credentials) -> Credentials:
    """Commit a sign-in's new credentials; return the install's earlier ones (to put back)."""
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        readable = not is_unreadable(install.credentials)
        earlier = Credentials(data=dict(install.credentials) if readable else {},
                              expires_at=install.expires_at,
                              info=dict(install.token_info or {}))
        install.store_credentials(credentials=credentials.data,
                                  expires_at=credentials.expires_at, token_info=credentials.info)
    return earlier


def _record_success(install_id: int, method: AuthMethod, credentials: Credentials, *,
                    actor: Any, actor_label: str) -> Install:
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        _drop_entered_credentials(install, method)  # they are in the credentials now
        install.values.update(credentials.captured)  # checked against their patterns
        install.mark_authenticated(credentials=credentials.data,
                                   expires_at=credentials.expires_at,
                                   token_info=credentials.info, actor=actor,
                                   actor_label=actor_label, auth_type=method.type,
                                   verified=method.has_verify)
    log.info("install %s: authenticated", install.pk)
    return install


def _drop_entered_credentials(install: Install, method: AuthMethod) -> None:
    """Take the entered values that authenticate (api_key, basic) off the install's values."""
    install.values = {k: v for k, v in install.values.items() if k not in method.credential_keys}
    if not is_unreadable(install.secret_values):
        install.secret_values = {k: v for k, v in install.secret_values.items()
                                 if k not in method.credential_keys}


def _record_failure(install_id: int, method: AuthMethod, error: AuthError, *, actor: Any,
                    actor_label: str, stage: str,
                    put_back: tuple[Credentials, Credentials] | None = None) -> None:
    """Nothing half-saved: the only credentials touched are the `put_back` pair's (the
    rejected ones committed before the verify request, and the earlier ones they replace,
    restored unless a refresh has changed them since).

    A cancelled consent changes nothing. A bad callback is only audited. Other failures
    set last_error, and "Error" unless the install still has working credentials (a
    failed reauthentication does not break a working install).
    """
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        partner = install.account.partner
        if put_back is not None and install.credentials == put_back[0].data:
            earlier = put_back[1]
            install.store_credentials(credentials=earlier.data, expires_at=earlier.expires_at,
                                      token_info=earlier.info)
        if isinstance(error, ConsentDenied):
            audit.record(audit.Action.INSTALL_CANCELLED, partner=partner, actor=actor,
                         actor_label=actor_label, install=install)
            return
        audit.record(audit.Action.INSTALL_AUTH_FAILED, partner=partner, actor=actor,
                     actor_label=actor_label, install=install, kind=error.kind, stage=stage)
        if isinstance(error, InvalidCallback):
            return
        if error.kind == "verify_failed":
            # Rejected keys or passwords are not kept: reauthenticating asks for them again.
            _drop_entered_credentials(install, method)
        install.mark_auth_failed(error=error.message)
    log.info("install %s: authentication failed (%s at %s)", install_id, error.kind, stage)


# --- the callback ------------------------------------------------------------------------


@dataclass
class CallbackOutcome:
    """What the callback view shows."""

    outcome: SignInOutcome
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
    elif not hmac.compare_digest(attempt.session_hash, session_hash(
            customer_session(request) if attempt.install_link_id else request.session)):
        reason = "another browser session"
    elif attempt.install_link is not None and not attempt.install_link.is_active:
        # Revoking a link (e.g. one that leaked) also stops sign-ins it already started,
        # and a sign-in started just before the link expired cannot finish after it.
        reason = f"install link {attempt.install_link.state}"
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
    link_id = attempt.install_link_id
    try:
        with _safe_errors("The sign-in"):
            method = Setup.of(install).method(browser=True)
        install = _authenticate(install, method, attempt=attempt, params=params,
                                actor=attempt.created_by,
                                actor_label=link_actor_label(link_id))
    except ConsentDenied as error:
        return CallbackOutcome(SignInOutcome.CANCELLED, error.message, install)
    except InvalidCallback as error:
        return CallbackOutcome(SignInOutcome.ERROR, error.message, install, bad_request=True)
    except AuthError as error:
        return CallbackOutcome(SignInOutcome.ERROR, error.message, install,
                               retry=isinstance(error, TransientError))
    return CallbackOutcome(SignInOutcome.CONNECTED, f"{install.display_name} is connected.",
                           install)


# --- using, checking and removing credentials ------------------------------------------


@dataclass
class ConnectionCheck:
    ok: bool
    message: str


def test_connection(*, install: Install, actor: Any, actor_label: str = "") -> ConnectionCheck:
    """Run the connector's verify request with the install's (fresh) credentials."""
    try:
        install = refresh.ensure_fresh(install)
    except AuthError as error:
        return ConnectionCheck(False, error.message)
    if install.credentials_unreadable:
        return ConnectionCheck(False, "The stored credentials cannot be read — reauthenticate.")
    method = Setup.of(install).method()
    if not install.credentials and method.type != "none":
        return ConnectionCheck(False, "This install is not authenticated yet.")
    if not method.has_verify:
        return ConnectionCheck(True, "This connector defines no test request; "
                                "its credentials are stored.")
    try:
        with _safe_errors("The test request"):
            method.verify(dict(install.credentials))
    except AuthError as error:
        _record_verify(install.pk, error, actor=actor, actor_label=actor_label)
        return ConnectionCheck(False, error.message)
    _record_verify(install.pk, None, actor=actor, actor_label=actor_label)
    return ConnectionCheck(True, "Connection works: the provider accepted the credentials.")


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _record_verify(install_id: int, error: AuthError | None, *, actor: Any,
                   actor_label: str = "") -> None:
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        partner = install.account.partner
        if error is None:
            previous = install.status
            install.mark_verified()
            audit.record(audit.Action.INSTALL_VERIFIED, partner=partner, actor=actor,
                         actor_label=actor_label, install=install, status=install.status,
                         previous_status=previous)
            return
        if not isinstance(error, TransientError):
            install.mark_verify_failed(error=error.message)
        audit.record(audit.Action.INSTALL_VERIFY_FAILED, partner=partner, actor=actor,
                     actor_label=actor_label, install=install, kind=error.kind)


def _revoke(install: Install) -> tuple[Revocation, Callable[..., object] | None]:
    """Ask the provider to revoke (RFC 7009). Returns the outcome for the audit log and,
    when the provider was unavailable, the call (still wanting the actor) that keeps what
    revoking needs, encrypted, for the workers to retry."""
    if install.credentials_unreadable or not install.credentials:
        return Revocation.NOTHING_TO_REVOKE, None
    method = Setup.of(install).method()
    if not method.spec.auth.revoke_url:
        return Revocation.NOT_SUPPORTED, None
    try:
        with _safe_errors("The revocation"):
            method.revoke(dict(install.credentials))
    except TransientError as error:
        return Revocation.UNAVAILABLE, partial(
            revocation.schedule, install=install, error=error, values=method.context.values,
            credentials=method.revocation_credentials(dict(install.credentials)))
    except AuthError:
        return Revocation.FAILED, None
    return Revocation.REVOKED, None


def _revoke_then(install: Install, finish: Callable[[Install, Revocation], None], *,
                 actor: Any) -> Revocation:
    """Revoke where possible, then `finish(locked install, outcome)` in one transaction.

    The install's row stays locked for the whole revocation (see core/locking.py), so
    no worker rotates the token between the revocation and `finish`. A revocation the
    provider could not take now is kept, in the same transaction, to be retried.
    """
    with row_lock_scope():
        locked = Install.objects.for_update().filter(pk=install.pk).first()
        if locked is None:  # deleted meanwhile
            return Revocation.NOTHING_TO_REVOKE
        outcome, keep_for_retry = _revoke(locked)
        metrics.observe_first_revocation(outcome)
        with transaction.atomic():
            if keep_for_retry is not None:
                keep_for_retry(actor=actor)
            finish(locked, outcome)
    return outcome


def deauthenticate(*, install: Install, actor: Any, actor_label: str = "") -> Revocation:
    """Revoke at the provider where possible, then delete the local credentials either way.

    The install is kept (status "Deauthenticated"). Returns the revocation outcome
    ("unavailable": retried later by the workers).
    """
    def clear_credentials(locked: Install, outcome: Revocation) -> None:
        locked.mark_deauthenticated(revocation=outcome, actor=actor, actor_label=actor_label)

    return _revoke_then(install, clear_credentials, actor=actor)


def delete_install(*, install: Install, actor: Any, actor_label: str = "") -> Revocation:
    """Revoke where possible and delete the install. Returns the revocation outcome.

    A revocation the provider could not take now is kept and retried after the install is
    gone (its pending row then names no install).
    """
    def delete(locked: Install, outcome: Revocation) -> None:
        audit.record(audit.Action.INSTALL_DELETED, partner=locked.account.partner, actor=actor,
                     actor_label=actor_label, account=locked.account,
                     connector=locked.connector, install_id=locked.pk, revocation=outcome,
                     name=locked.name, status=locked.status)
        locked.delete()

    return _revoke_then(install, delete, actor=actor)


def delete_account(*, account: Account, actor: Any, actor_label: str = "") -> list[Revocation]:
    """Delete every install of the account through `delete_install`, then the account.

    Returns the installs' revocation outcomes. The account's row is locked while it is
    deleted, so an install created meanwhile is found (and deleted the same way) rather
    than cascaded away with its tokens still live at the provider.
    """
    outcomes: list[Revocation] = []
    while True:
        for install in account.installs.without_secrets():
            outcomes.append(delete_install(install=install, actor=actor,
                                           actor_label=actor_label))
        with transaction.atomic():
            locked = Account.objects.select_for_update().filter(pk=account.pk).first()
            if locked is None:  # deleted meanwhile
                return outcomes
            if not locked.installs.exists():
                # The names stay in the event: the webhook reports them after the row is gone.
                audit.record(audit.Action.ACCOUNT_DELETED, partner=locked.partner, actor=actor,
                             actor_label=actor_label, account_id=locked.pk,
                             external_id=locked.external_id, name=locked.name,
                             installs=len(outcomes))
                locked.delete()
                return outcomes
