"""Signing an install in: begin (a browser flow's provider redirect, or authenticate at
once), and complete (the provider's callback, then verify, then store).

Database writes happen in one `transaction.atomic()` with their audit event (the
install's own transitions are its `mark_*` methods); provider calls (up to
OUTBOUND_TIMEOUT) stay outside any transaction. For api_key and basic the entered values
are *moved* into the credentials on success (and dropped when the provider rejects them),
so deauthenticating deletes them and reauthenticating asks for them again.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from audit import events as audit
from connectors.auth import post_connection
from connectors.auth.base import (
    AuthError,
    AuthMethod,
    ConsentDenied,
    Credentials,
    ErrorKind,
    InvalidCallback,
    TransientError,
    no_unexpected_errors,
)
from connectors.models import Connector
from connectors.services import shared_callback_url
from core.fields import is_unreadable
from installs.installing import link_actor_label, save_new_install, unsaved_install
from installs.models import AuthAttempt, Install, SignInOutcome
from installs.values import MissingValues, SavedSettings, Setup

log = logging.getLogger("hatchway.auth")
security_log = logging.getLogger("hatchway.security")

STALE_MESSAGE = "This sign-in link is no longer valid — restart the install."
ATTEMPT_RETENTION = timedelta(days=30)


# --- begin -------------------------------------------------------------------------------


def start_authentication(*, install: Install, session_hash: str, actor: Any = None,
                         link_id: int | None = None,
                         saved: SavedSettings | None = None) -> str | None:
    """Start (or redo) authentication of an install.

    Browser flows: create the AuthAttempt bound to the browser session `session_hash`
    names (core/sessions.py) and return the provider URL to redirect to. Client
    credentials, API key, basic, none: authenticate at once and return None. Raises
    AuthError (message safe to show) when it cannot start or fails -- already recorded on
    the install and in the audit log -- and MissingValues when required values must be
    entered first. `link_id`: the install link a customer acts through; `saved`: the
    request's reader of the partner's settings.
    """
    method = _ready_method(install, saved=saved)
    label = link_actor_label(link_id)
    if not method.browser_flow:
        _authenticate_at_once(install, method, actor=actor, actor_label=label)
        return None
    attempt = AuthAttempt(install=install, session_hash=session_hash, install_link_id=link_id,
                          expires_at=timezone.now() + AuthAttempt.LIFETIME,
                          redirect_uri=method.context.callback_url,
                          created_by=audit.as_user(actor))
    try:
        with no_unexpected_errors("Starting the sign-in"):
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

    The same steps as `start_authentication` without a browser: complete, verify,
    store -- or record the failure and raise it. A browser flow raises AuthError.
    """
    method = _ready_method(install)
    if method.browser_flow:
        raise AuthError("This connector signs in through a browser: use an install link.",
                        kind=ErrorKind.CONFIGURATION)
    return _authenticate_at_once(install, method, actor=actor, actor_label=actor_label)


def create_authenticated_install(*, account: Account, connector: Connector, name: str = "",
                                 values: dict[str, str] | None = None, actor: Any,
                                 actor_label: str = "",
                                 saved: SavedSettings | None = None,
                                 scopes: list[str] | None = None) -> Install:
    """Create an install of a browser-less method, authenticated -- or nothing at all.

    The provider is asked first (complete, then verify), for an install not yet written;
    only when it accepts are the install, its audit events and so its webhook events
    written, in one transaction. A refusal raises the AuthError (or MissingValues) and
    leaves no row, no audit event and no webhook: a refused change sends nothing.
    """
    install = unsaved_install(account=account, connector=connector, name=name, values=values,
                              actor=actor, saved=saved, scopes=scopes)
    method = _ready_method(install, saved=saved)
    if method.browser_flow:
        raise AuthError("This connector signs in through a browser: use an install link.",
                        kind=ErrorKind.CONFIGURATION)
    try:
        with no_unexpected_errors("The sign-in"):
            credentials = method.complete(None, {})
            post_connection.run(method, credentials)
            method.verify(credentials.data)
    except AuthError as error:
        log.info("install of %s into account %s refused (%s): nothing saved", connector.slug,
                 account.pk, error.kind)
        raise
    with transaction.atomic():
        install = save_new_install(install, actor=actor, actor_label=actor_label)
        _record_started(install, actor, actor_label, method)
        return _record_success(install.pk, method, credentials, actor=actor,
                               actor_label=actor_label)


def _ready_method(install: Install, *, saved: SavedSettings | None = None) -> AuthMethod:
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


# --- complete ----------------------------------------------------------------------------


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
        with no_unexpected_errors("The sign-in"):
            credentials = method.complete(attempt, params)
            post_connection.run(method, credentials)  # nothing stored when a lookup fails
    except AuthError as error:
        _record_failure(install.pk, method, error, actor=actor, actor_label=actor_label,
                        stage="complete")
        raise
    earlier = _store_received(install.pk, credentials)
    try:
        with no_unexpected_errors("The sign-in"):
            method.verify(credentials.data)
    except AuthError as error:
        with transaction.atomic():
            _put_back(install.pk, rejected=credentials, earlier=earlier)
            _record_failure(install.pk, method, error, actor=actor, actor_label=actor_label,
                            stage="complete")
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


def _put_back(install_id: int, *, rejected: Credentials, earlier: Credentials) -> None:
    """Restore the `earlier` credentials that `rejected` ones (committed before their
    verify request) replaced -- unless a refresh has changed them since."""
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        if install.credentials == rejected.data:
            install.store_credentials(credentials=earlier.data, expires_at=earlier.expires_at,
                                      token_info=earlier.info)


def _record_success(install_id: int, method: AuthMethod, credentials: Credentials, *,
                    actor: Any, actor_label: str) -> Install:
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        drop_entered_credentials(install, method)  # they are in the credentials now
        install.values.update(credentials.captured)  # checked against their patterns
        install.mark_authenticated(credentials=credentials.data,
                                   expires_at=credentials.expires_at,
                                   token_info=credentials.info, actor=actor,
                                   actor_label=actor_label, auth_type=method.type,
                                   verified=method.has_verify)
    log.info("install %s: authenticated", install.pk)
    return install


def drop_entered_credentials(install: Install, method: AuthMethod) -> None:
    """Take the entered values that authenticate (api_key, basic) off the install's values."""
    install.values = {k: v for k, v in install.values.items() if k not in method.credential_keys}
    if not is_unreadable(install.secret_values):
        install.secret_values = {k: v for k, v in install.secret_values.items()
                                 if k not in method.credential_keys}


def _record_failure(install_id: int, method: AuthMethod, error: AuthError, *, actor: Any,
                    actor_label: str, stage: str) -> None:
    """Nothing half-saved: a cancelled consent changes nothing. A bad callback is only
    audited. Other failures set last_error, and "Error" unless the install still has
    working credentials (a failed reauthentication does not break a working install).
    """
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        partner = install.account.partner
        if isinstance(error, ConsentDenied):
            audit.record(audit.Action.INSTALL_CANCELLED, partner=partner, actor=actor,
                         actor_label=actor_label, install=install)
            return
        if isinstance(error, InvalidCallback):  # the install changes in nothing
            audit.record(audit.Action.INSTALL_AUTH_FAILED, partner=partner, actor=actor,
                         actor_label=actor_label, install=install, kind=error.kind,
                         stage=stage)
            return
        if error.kind == ErrorKind.VERIFY_FAILED:
            # Rejected keys or passwords are not kept: reauthenticating asks for them again.
            drop_entered_credentials(install, method)
        install.mark_auth_failed(error=error.message, kind=error.kind, stage=stage,
                                 actor=actor, actor_label=actor_label)
    log.info("install %s: authentication failed (%s at %s)", install_id, error.kind, stage)


# --- the callback ------------------------------------------------------------------------


@dataclass(frozen=True)
class Browser:
    """The browser a callback came from: the `session_hash` of its console session and of
    its customer session ('' for none; core/sessions.py)."""

    console_session: str
    customer_session: str


@dataclass
class CallbackOutcome:
    """What the callback view shows."""

    outcome: SignInOutcome
    message: str = ""
    install: Install | None = None
    retry: bool = False
    bad_request: bool = False


def claim_attempt(*, state: str, browser: Browser, callback_url: str) -> AuthAttempt:
    """The attempt `state` names, marked used (single use) with its secrets deleted.

    Raises InvalidCallback when the state is unknown, used, expired, belongs to another
    browser session, arrived at another callback URL than the one the sign-in was begun
    with (another connector's: the mix-up attack, RFC 9700 §4.4) or was started through an
    install link revoked since. A found attempt is consumed whatever the reason.
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
    session = browser.customer_session if attempt.install_link_id else browser.console_session
    reason = ""
    if not claimed:
        reason = "already used"
    elif attempt.expires_at <= now:
        reason = "expired"
    elif not hmac.compare_digest(attempt.session_hash, session):
        reason = "another browser session"
    elif callback_url != begun_with(attempt):
        reason = f"arrived at {callback_url}, not at the callback URL it was begun with"
    elif attempt.install_link is not None and not attempt.install_link.is_active:
        # Revoking a link (e.g. one that leaked) also stops sign-ins it already started,
        # and a sign-in started just before the link expired cannot finish after it.
        reason = f"install link {attempt.install_link.state}"
    if reason:
        security_log.warning("callback refused for attempt %s: %s", attempt.pk, reason)
        raise InvalidCallback(STALE_MESSAGE)
    return attempt


def begun_with(attempt: AuthAttempt) -> str:
    """The callback URL the sign-in was begun with (the token request sends it again)."""
    return attempt.redirect_uri or shared_callback_url()


def finish_callback(*, attempt: AuthAttempt, params: dict[str, str]) -> CallbackOutcome:
    """Complete a claimed attempt with the provider's callback parameters."""
    install = attempt.install
    link_id = attempt.install_link_id
    try:
        with no_unexpected_errors("The sign-in"):
            method = Setup.of(install).method(browser=True, callback_url=begun_with(attempt))
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
