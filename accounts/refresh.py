"""Keeping access tokens valid: refresh under a row lock, back off on outages.

Any number of `refresh_tokens` workers on any number of machines share one PostgreSQL.
Each install is refreshed in ONE transaction that holds its row lock
(`SELECT … FOR UPDATE SKIP LOCKED`) across the provider call, re-checks expiry after
taking the lock and saves the new tokens, the status and the audit event before it
commits. Two workers therefore never refresh the same install (a provider that rotates
refresh tokens would otherwise invalidate one of them), and none waits for another: a
locked row is simply skipped. The outbound call is bounded by `OUTBOUND_TIMEOUT`.

On SQLite `select_for_update` is a no-op and the same code runs in one process.

Outcomes of one install: "refreshed", "not_due", "skipped_locked", "reauth_required",
"failing".
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, F, Q, QuerySet, When
from django.utils import timezone

from accounts import audit
from accounts.locking import in_savepoint, row_lock_scope, work_through
from accounts.models import Install, InstallQuerySet
from connectors.auth.base import AuthError, AuthMethod, Credentials, InvalidGrant, TransientError
from connectors.crypto import is_unreadable

log = logging.getLogger("hatchway.refresh")
security_log = logging.getLogger("hatchway.security")

REFRESHED = "refreshed"
NOT_DUE = "not_due"
SKIPPED_LOCKED = "skipped_locked"
REAUTH_REQUIRED = "reauth_required"
FAILING = "failing"
OUTCOMES = (REFRESHED, NOT_DUE, SKIPPED_LOCKED, REAUTH_REQUIRED, FAILING)

#: Statuses whose tokens the workers keep fresh.
REFRESHABLE = (Install.Status.AUTHENTICATED, Install.Status.REFRESH_FAILING)

BACKOFF_BASE = 30.0  # seconds before the first retry (at most)
BACKOFF_CAP = 3600.0  # never wait longer than an hour between attempts …
RETRY_AFTER_CAP = 6 * 3600.0  # … unless the provider asks to, within reason

UNREADABLE_MESSAGE = "Stored credentials could not be decrypted — re-enter credentials"
INVALID_GRANT_MESSAGE = "The provider rejected the refresh token — reauthenticate this install."
CANNOT_REFRESH_MESSAGE = (
    "The access token expired and this connector cannot refresh it — reauthenticate this install."
)
UNEXPECTED_MESSAGE = "An unexpected error stopped the token refresh; it will be retried."
ACTOR = "token refresh"


def due_filter(now: datetime | None = None) -> Q:
    """Installs whose token a worker should refresh now."""
    now = now or timezone.now()
    soon = now + timedelta(seconds=settings.TOKEN_REFRESH_MARGIN)
    return (
        Q(status__in=REFRESHABLE, expires_at__lte=soon)
        & (Q(next_refresh_at__isnull=True) | Q(next_refresh_at__lte=now))
    )


def is_due(install: Install, now: datetime | None = None) -> bool:
    """The same test as `due_filter`, on a loaded row (re-checked after taking the lock)."""
    now = now or timezone.now()
    return (
        install.status in REFRESHABLE
        and install.is_expiring(now=now)
        and (install.next_refresh_at is None or install.next_refresh_at <= now)
    )


def backoff_seconds(failures: int, *, retry_after: float | None = None,
                    rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter: between half and all of 30 s · 2^(failures-1),
    capped at one hour; never sooner than the provider's Retry-After."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(failures - 1, 0))
    delay = ceiling * (0.5 + 0.5 * (rng or random).random())
    if retry_after:
        delay = max(delay, min(float(retry_after), RETRY_AFTER_CAP))
    return delay


# --- one install -----------------------------------------------------------------------


def refresh_install(install_id: int, *, now: datetime | None = None) -> str:
    """Refresh one install if it is due, unless another worker holds its row right now."""
    with row_lock_scope():
        install = _locked(Install.objects.filter(pk=install_id), skip_locked=True)
        if install is None:
            gone = not Install.objects.filter(pk=install_id).exists()
            return NOT_DUE if gone else SKIPPED_LOCKED
        now = now or timezone.now()
        if not is_due(install, now):
            return NOT_DUE
        return _refresh_guarded(install, now)


def ensure_fresh(install: Install) -> Install:
    """Before credentials are used: refresh them if they are expiring, return the fresh row.

    Unlike the workers this waits for the row lock, so a caller racing a worker gets the
    token the worker just saved instead of refreshing a second time. Installs in back-off
    are left alone (the provider is struggling); callers check `status`.
    """
    if not is_due(install):
        return install
    with row_lock_scope():
        locked = _locked(Install.objects.filter(pk=install.pk), skip_locked=False)
        if locked is None:
            return install
        if is_due(locked):
            _refresh_guarded(locked, timezone.now())
    return locked


def _locked(queryset: InstallQuerySet, *, skip_locked: bool) -> Install | None:
    return queryset.for_update(skip_locked=skip_locked).first()


def _refresh_guarded(install: Install, now: datetime) -> str:
    """`_refresh_locked`, turning an unexpected error into a retry later (never a lost row)."""
    return in_savepoint(
        install, lambda: _refresh_locked(install, now), what="refreshing install",
        recover=lambda: _mark_failing(install, now, message=UNEXPECTED_MESSAGE, kind="error"))


def _refresh_locked(install: Install, now: datetime) -> str:
    """Call the provider for an install whose row this transaction has locked."""
    if is_unreadable(install.credentials) or is_unreadable(install.secret_values):
        return _mark_reauth(install, message=UNREADABLE_MESSAGE, kind="credentials_unreadable")
    used = dict(install.credentials)
    try:
        method = _method_for(install)
        if not method.can_refresh:
            return _cannot_refresh(install, now)
        fresh = method.refresh(used)
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


def _method_for(install: Install) -> AuthMethod:
    from accounts import services  # services uses this module: import at call time

    return services.method_for(install)


def _token_changed(install: Install, used: dict[str, Any]) -> bool:
    """Whether the stored credentials differ from the ones the failed refresh used."""
    current = Install.objects.filter(pk=install.pk).first()
    if current is None or is_unreadable(current.credentials):
        return False
    return current.credentials != used


def merged_credentials(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """RFC 6749 §6: a response without a new refresh token leaves the old one valid."""
    data = dict(new)
    if old.get("refresh_token") and not data.get("refresh_token"):
        data["refresh_token"] = old["refresh_token"]
    return data


# --- writing outcomes (always under the row lock, with an audit event) ----------------


def _save_refreshed(install: Install, used: dict[str, Any], fresh: Credentials,
                    now: datetime) -> str:
    previous = install.status
    install.credentials = merged_credentials(used, fresh.data)
    install.expires_at = fresh.expires_at
    install.status = Install.Status.AUTHENTICATED
    install.refresh_failures = 0
    install.next_refresh_at = None
    install.last_refreshed_at = now
    install.last_error = ""
    with transaction.atomic():
        install.save(update_fields=["credentials", "expires_at", "status", "refresh_failures",
                                    "next_refresh_at", "last_refreshed_at", "last_error",
                                    "updated_at"])
        audit.record("install.refreshed", partner=install.account.partner, actor_label=ACTOR,
                     install=install, status=install.status, previous_status=previous)
    log.info("install %s: token refreshed", install.pk)
    return REFRESHED


def _mark_failing(install: Install, now: datetime, *, message: str, kind: str,
                  retry_after: float | None = None) -> str:
    """A transient failure: tokens kept, status "Refresh failing", retried after a back-off."""
    install.refresh_failures += 1
    delay = backoff_seconds(install.refresh_failures, retry_after=retry_after)
    install.status = Install.Status.REFRESH_FAILING
    install.next_refresh_at = now + timedelta(seconds=delay)
    install.last_error = message[:500]
    with transaction.atomic():
        install.save(update_fields=["status", "refresh_failures", "next_refresh_at",
                                    "last_error", "updated_at"])
        audit.record("install.refresh_failed", partner=install.account.partner,
                     actor_label=ACTOR, install=install, kind=kind, status=install.status,
                     failures=install.refresh_failures,
                     next_attempt=install.next_refresh_at.isoformat())
    log.warning("install %s: refresh failing (%s), attempt %s, retry in %.0f s", install.pk,
                kind, install.refresh_failures, delay)
    return FAILING


def _mark_reauth(install: Install, *, message: str, kind: str) -> str:
    """A permanent failure: tokens kept for the record, a person must reauthenticate."""
    install.status = Install.Status.REAUTH_REQUIRED
    install.next_refresh_at = None
    install.last_error = message[:500]
    with transaction.atomic():
        install.save(update_fields=["status", "next_refresh_at", "last_error", "updated_at"])
        audit.record("install.refresh_failed", partner=install.account.partner,
                     actor_label=ACTOR, install=install, kind=kind, status=install.status)
    security_log.warning("install %s: refresh failed (%s), reauthentication required",
                         install.pk, kind)
    return REAUTH_REQUIRED


def _cannot_refresh(install: Install, now: datetime) -> str:
    """An expiring token the method cannot renew: look again when it expires, then ask."""
    if install.expires_at and install.expires_at > now:
        install.next_refresh_at = install.expires_at
        install.save(update_fields=["next_refresh_at", "updated_at"])
        return NOT_DUE
    return _mark_reauth(install, message=CANNOT_REFRESH_MESSAGE, kind="expired")


# --- a worker pass ----------------------------------------------------------------------


def run_pass(*, batch_size: int = 1000, now: datetime | None = None,
             should_stop: Callable[[], bool] = lambda: False) -> Counter[str]:
    """Refresh due installs, one row lock at a time, until none is left (or `batch_size`).

    Each step claims the most urgent due row nobody else holds
    (`ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`); see `locking.work_through`.
    `should_stop` is checked between installs: a stop request finishes the current one.
    """
    clock: Callable[[], datetime] = (lambda: now) if now else timezone.now
    started = clock()

    def refresh_if_due(install: Install) -> str:
        at = clock()
        # PostgreSQL re-evaluated the claim's WHERE on the locked row; check once more here.
        return _refresh_guarded(install, at) if is_due(install, at) else NOT_DUE

    return work_through(lambda: _claim_next(started, clock()), refresh_if_due,
                        batch_size=batch_size, should_stop=should_stop, what="install")


def _claim_next(started: datetime, now: datetime) -> Install | None:
    # Rows refreshed during this pass are excluded even if their new token is short-lived.
    not_this_pass = Q(last_refreshed_at__isnull=True) | Q(last_refreshed_at__lt=started)
    queryset = Install.objects.filter(due_filter(now), not_this_pass).order_by("expires_at", "pk")
    return _locked(queryset, skip_locked=True)


# --- what the console shows ("Needs attention") -------------------------------------------


def attention_filters(now: datetime | None = None) -> dict[str, Q]:
    """The three kinds of install a person should look at, as filters (no decryption)."""
    return {
        "reauth": Q(status=Install.Status.REAUTH_REQUIRED),
        "failing": Q(status=Install.Status.REFRESH_FAILING),
        "due": Q(status=Install.Status.AUTHENTICATED) & due_filter(now),
    }


def needing_attention(installs: QuerySet[Install], *, now: datetime | None = None,
                      group: str | None = None) -> QuerySet[Install]:
    """Installs that are due now, failing to refresh or need reauthentication.

    Most serious first (reauthentication, then failing, then due), soonest expiry first.
    """
    filters = attention_filters(now)
    chosen = [filters[group]] if group in filters else list(filters.values())
    condition = chosen[0]
    for extra in chosen[1:]:
        condition |= extra
    priority = Case(When(filters["reauth"], then=0), When(filters["failing"], then=1), default=2)
    return (installs.filter(condition).annotate(attention_priority=priority)
            .order_by("attention_priority", F("expires_at").asc(nulls_last=True), "pk"))


def attention_counts(installs: QuerySet[Install], *, now: datetime | None = None) -> dict[str, int]:
    """How many installs of each kind need attention, in one query."""
    return installs.aggregate(**{group: Count("pk", filter=condition)
                                 for group, condition in attention_filters(now).items()})
