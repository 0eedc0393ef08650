"""Keeping access tokens valid: refresh under a row lock, back off on outages.

Any number of `refresh_tokens` workers on any number of machines share one PostgreSQL.
Each install is refreshed in ONE transaction that holds its row lock
(`SELECT … FOR UPDATE SKIP LOCKED`) across the provider call, re-checks expiry after
taking the lock and saves the new tokens, the status and the audit event before it
commits. Two workers therefore never refresh the same install (a provider that rotates
refresh tokens would otherwise invalidate one of them), and none waits for another: a
locked row is simply skipped. The outbound call is bounded by `OUTBOUND_TIMEOUT`.

On SQLite `select_for_update` is a no-op and the same code runs in one process.

Outcomes of one install: `RefreshOutcome`. The install's status changes are its own
`mark_*` methods; this module decides which one applies.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from django.db.models import Q
from django.utils import timezone

from connectors.auth.base import (
    AuthError,
    AuthMethod,
    Credentials,
    ErrorKind,
    InvalidGrant,
    TransientError,
)
from connectors.auth.tokens import keep_unreturned
from core import metrics
from core.backoff import backoff_seconds
from core.fields import is_unreadable
from core.locking import in_savepoint, row_lock_scope, work_through
from installs.models import Install, InstallQuerySet, RefreshOutcome, due_filter
from installs.values import SavedSettings, method_for, with_settings_saved_at

log = logging.getLogger("hatchway.refresh")
security_log = logging.getLogger("hatchway.security")

REFRESHED = RefreshOutcome.REFRESHED
NOT_DUE = RefreshOutcome.NOT_DUE
SKIPPED_LOCKED = RefreshOutcome.SKIPPED_LOCKED
REAUTH_REQUIRED = RefreshOutcome.REAUTH_REQUIRED
FAILING = RefreshOutcome.FAILING

UNREADABLE_MESSAGE = "Stored credentials could not be decrypted — re-enter credentials"
INVALID_GRANT_MESSAGE = "The provider rejected the refresh token — reauthenticate this install."
CANNOT_REFRESH_MESSAGE = (
    "The access token expired and this connector cannot refresh it — reauthenticate this install."
)
UNEXPECTED_MESSAGE = "An unexpected error stopped the token refresh; it will be retried."

# Every outcome's series exists from the start (at 0), so rates work from the first event.
for _outcome in RefreshOutcome:
    metrics.REFRESHES.labels(_outcome.value)


# --- one install -----------------------------------------------------------------------


def refresh_install(install_id: int, *, now: datetime | None = None) -> RefreshOutcome:
    """Refresh one install if it is due, unless another worker holds its row right now."""
    with row_lock_scope():
        install = _locked(Install.objects.filter(pk=install_id), skip_locked=True)
        if install is None:
            gone = not Install.objects.filter(pk=install_id).exists()
            return _counted(NOT_DUE if gone else SKIPPED_LOCKED)
        now = now or timezone.now()
        if not install.is_due(now):
            return NOT_DUE
        return _refresh_guarded(install, now)


def ensure_fresh(install: Install, *, force: bool = False,
                 cooldown: timedelta | None = None) -> Install:
    """Before credentials are used: refresh them if they are expiring, return the fresh row.

    Unlike the workers this waits for the row lock, so a caller racing a worker gets the
    token the worker just saved instead of refreshing a second time. Installs in back-off
    are left alone (the provider is struggling); callers check `status`.

    `force` refreshes a working install whose token is not due yet (the provider refused
    it) -- unless, once the lock is held, the stored token is no longer the one `install`
    carries: then someone refreshed it meanwhile, and that token is returned instead --
    or when the last refresh is more recent than `cooldown` (a provider refusing every
    call must not cost one refresh per call).
    """
    if not (install.is_due() or force and install.is_working):
        return install
    with row_lock_scope():
        locked = _locked(Install.objects.filter(pk=install.pk), skip_locked=False)
        if locked is None:
            return install
        if locked.is_due() or force and _may_force(locked, install, cooldown):
            _refresh_guarded(locked, timezone.now())
    return locked


def _may_force(locked: Install, seen: Install, cooldown: timedelta | None = None) -> bool:
    """A forced refresh: a working install, still holding the token the caller saw, not
    refreshed within `cooldown`, whose method can renew it (forcing a key that cannot be
    refreshed would only break it)."""
    if not locked.is_working or locked.credentials_unreadable:
        return False
    if locked.credentials != seen.credentials:
        return False
    if cooldown and locked.last_refreshed_at and \
            timezone.now() - locked.last_refreshed_at < cooldown:
        return False
    try:
        return method_for(locked).can_refresh(dict(locked.credentials))
    except AuthError:
        return False


def _locked(queryset: InstallQuerySet, *, skip_locked: bool) -> Install | None:
    return queryset.for_update(skip_locked=skip_locked).first()


def _refresh_guarded(install: Install, now: datetime, saved: SavedSettings | None = None
                     ) -> RefreshOutcome:
    """`_refresh_locked`, turning an unexpected error into a retry later (never a lost row)."""
    return _counted(in_savepoint(
        install, lambda: _refresh_locked(install, now, saved), what="refreshing install",
        recover=lambda: _mark_failing(install, now, message=UNEXPECTED_MESSAGE,
                                      kind=ErrorKind.ERROR)))


def _counted(outcome: RefreshOutcome) -> RefreshOutcome:
    metrics.REFRESHES.labels(str(outcome)).inc()
    return outcome


def _refresh_locked(install: Install, now: datetime, saved: SavedSettings | None
                    ) -> RefreshOutcome:
    """Call the provider for an install whose row this transaction has locked."""
    if is_unreadable(install.credentials) or is_unreadable(install.secret_values):
        return _mark_reauth(install, message=UNREADABLE_MESSAGE,
                            kind=ErrorKind.CREDENTIALS_UNREADABLE)
    used = dict(install.credentials)
    try:
        method = method_for(install, saved=saved)
        if not method.can_refresh(used):
            return _cannot_refresh(install, now)
        fresh = refreshed_credentials(method, used)
    except InvalidGrant as exc:
        if _token_changed(install, used):
            log.info("install %s: refreshed by another worker meanwhile", install.pk)
            return NOT_DUE
        return _mark_reauth(install, message=exc.message or INVALID_GRANT_MESSAGE,
                            kind=exc.kind)
    except TransientError as exc:
        return _mark_failing(install, now, message=exc.message, kind=exc.kind,
                             retry_after=exc.retry_after)
    except requests.RequestException as exc:  # a method that let one through
        return _mark_failing(install, now, message="The provider could not be reached.",
                             kind=type(exc).__name__)
    except AuthError as exc:  # configuration and other permanent problems
        return _mark_reauth(install, message=exc.message, kind=exc.kind)
    return _save_refreshed(install, used, fresh, now)


def refreshed_credentials(method: AuthMethod, used: dict[str, Any]) -> Credentials:
    """One refresh request: the provider's fresh credentials, with the refresh token and
    scope of `used` where it returned none. The workers' path, which an import whose access
    token is missing or expired also takes (installs/importing.py)."""
    fresh = method.refresh(used)
    fresh.data = keep_unreturned(used, fresh.data)
    return fresh


def _token_changed(install: Install, used: dict[str, Any]) -> bool:
    """Whether the stored credentials differ from the ones the failed refresh used."""
    current = Install.objects.filter(pk=install.pk).first()
    if current is None or is_unreadable(current.credentials):
        return False
    return current.credentials != used


# --- writing outcomes (always under the row lock, with an audit event) ----------------


def _save_refreshed(install: Install, used: dict[str, Any], fresh: Any,
                    now: datetime) -> RefreshOutcome:
    install.mark_refreshed(credentials=fresh.data,
                           expires_at=fresh.expires_at, now=now)
    log.info("install %s: token refreshed", install.pk)
    return REFRESHED


def _mark_failing(install: Install, now: datetime, *, message: str, kind: str,
                  retry_after: float | None = None) -> RefreshOutcome:
    """A transient failure: tokens kept, status "Refresh failing", retried after a back-off."""
    delay = backoff_seconds(install.refresh_failures + 1, retry_after=retry_after)
    install.mark_refresh_failing(error=message, kind=kind,
                                 retry_at=now + timedelta(seconds=delay))
    log.warning("install %s: refresh failing (%s), attempt %s, retry in %.0f s", install.pk,
                kind, install.refresh_failures, delay)
    return FAILING


def _mark_reauth(install: Install, *, message: str, kind: str) -> RefreshOutcome:
    """A permanent failure: tokens kept for the record, a person must reauthenticate."""
    install.mark_reauth_required(error=message, kind=kind)
    security_log.warning("install %s: refresh failed (%s), reauthentication required",
                         install.pk, kind)
    return REAUTH_REQUIRED


def _cannot_refresh(install: Install, now: datetime) -> RefreshOutcome:
    """An expiring token the method cannot renew: look again when it expires, then ask."""
    if install.expires_at and install.expires_at > now:
        install.next_refresh_at = install.expires_at
        install.save(update_fields=["next_refresh_at", "updated_at"])
        return NOT_DUE
    return _mark_reauth(install, message=CANNOT_REFRESH_MESSAGE, kind=ErrorKind.EXPIRED)


# --- a worker pass ----------------------------------------------------------------------


def run_pass(*, batch_size: int = 1000, now: datetime | None = None,
             should_stop: Callable[[], bool] = lambda: False) -> Counter[str]:
    """Refresh due installs, one row lock at a time, until none is left (or `batch_size`).

    Each step claims the most urgent due row nobody else holds
    (`ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`); see `locking.work_through`.
    `should_stop` is checked between installs: a stop request finishes the current one.
    The partner settings are read once for all the installs that share them (one
    `SavedSettings` reader for the pass).
    """
    clock: Callable[[], datetime] = (lambda: now) if now else timezone.now
    started = clock()
    saved = SavedSettings()
    claim = _claimable(started).for_update(skip_locked=True, partner=False)

    def refresh_if_due(install: Install) -> RefreshOutcome:
        at = clock()
        # PostgreSQL re-evaluated the claim's WHERE on the locked row; check once more here.
        return _refresh_guarded(install, at, saved) if install.is_due(at) else NOT_DUE

    return work_through(claim.first, refresh_if_due,
                        batch_size=batch_size, should_stop=should_stop, what="install")


def _claimable(started: datetime) -> InstallQuerySet:
    """The pass's queue: installs due when it started, most urgent first.

    Built once per pass; each claim runs it again (`first()`: a new query each time,
    whose SKIP LOCKED skips the rows locked by then). An install that falls due during
    the pass waits for the next one, well within the refresh margin. Rows refreshed during
    this pass are excluded even if their new token is short-lived.
    """
    not_this_pass = Q(last_refreshed_at__isnull=True) | Q(last_refreshed_at__lt=started)
    queryset = Install.objects.filter(due_filter(started), not_this_pass)
    return with_settings_saved_at(queryset.order_by("expires_at", "pk"))
