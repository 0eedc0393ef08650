"""Revocations retried after a provider outage (RFC 7009, SECURITY.md "provider 503").

Deauthenticating or deleting an install deletes its credentials at once, whatever the
provider says. When the revocation request fails transiently (5xx, 429, timeout, no
connection) the services keep, in the same transaction, a `PendingRevocation`: only the
token `revoke` needs and the merged values that configure the method, both encrypted.

`retry_revocations` (run by every `manage.py refresh_tokens` pass) works through the due
rows exactly like `refresh.run_pass` works through installs: one row at a time, locked
with `SELECT … FOR UPDATE SKIP LOCKED` across the provider call, so two workers never
send the same revocation. The back-off is the refresh workers' (`core.backoff`).

Outcomes of one row: "revoked" (row deleted), "refused" (the provider refused for good:
row deleted), "postponed" (transient again: tried later) and "gave_up" (MAX_ATTEMPTS
requests failed: row deleted). Every end of a row is audited; tokens never are.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from django.db import transaction
from django.utils import timezone

from audit import events as audit
from connectors.auth import build_method
from connectors.auth.base import AuthError, Context, TransientError
from core import metrics
from core.backoff import backoff_seconds
from core.fields import is_unreadable
from core.locking import in_savepoint, work_through
from installs.models import Install, PendingRevocation, RetryOutcome, shorten

log = logging.getLogger("hatchway.refresh")
security_log = logging.getLogger("hatchway.security")

REVOKED = RetryOutcome.REVOKED
REFUSED = RetryOutcome.REFUSED
POSTPONED = RetryOutcome.POSTPONED
GAVE_UP = RetryOutcome.GAVE_UP

#: Revocation requests (the first one at deauthentication included) before giving up.
#: With the refresh back-off (at most an hour apart) that rides out about half a day of outage.
MAX_ATTEMPTS = 24

ACTOR = "revocation retry"
UNEXPECTED_MESSAGE = "An unexpected error stopped the revocation; it will be retried."

for _outcome in RetryOutcome:  # every series from the start, at 0
    metrics.REVOCATIONS.labels("retry", _outcome.value)


# --- scheduling (called by the services) ----------------------------------------------


def schedule(*, install: Install, credentials: dict[str, Any], values: dict[str, str],
             error: TransientError, actor: Any, now: datetime | None = None,
             ) -> PendingRevocation | None:
    """Keep a token the provider could not revoke just now, to retry after a back-off.

    Call inside the transaction that deletes the install's credentials, so the token is
    either still on the install or here. `credentials` is what `revoke` needs (see
    `AuthMethod.revocation_credentials`); nothing is kept when that is empty.
    """
    if not credentials:
        return None
    now = now or timezone.now()
    delay = backoff_seconds(1, retry_after=error.retry_after)
    row = PendingRevocation.objects.create(
        partner=install.account.partner, connector=install.connector, install=install,
        credentials=credentials, values=values, attempts=1,
        next_attempt_at=now + timedelta(seconds=delay), last_error=shorten(error.message))
    audit.record(audit.Action.INSTALL_REVOCATION_PENDING, partner=row.partner, actor=actor,
                 install=install, kind=error.kind, pending_id=row.pk, install_id=install.pk,
                 next_attempt=row.next_attempt_at.isoformat())
    log.warning("install %s: revocation %s (%s), retry in %.0f s", install.pk, row.pk,
                error.kind, delay)
    return row


# --- a worker pass ----------------------------------------------------------------------


def retry_revocations(*, now: datetime | None = None, batch_size: int = 1000,
                      should_stop: Callable[[], bool] = lambda: False) -> Counter[str]:
    """Retry due pending revocations, one row lock at a time, until none is due (or
    `batch_size`). `should_stop` is checked between rows."""
    clock: Callable[[], datetime] = (lambda: now) if now else timezone.now
    return work_through(lambda: _claim_next(clock()), lambda row: _retry_guarded(row, clock()),
                        batch_size=batch_size, should_stop=should_stop,
                        what="pending revocation")


def _claim_next(now: datetime) -> PendingRevocation | None:
    # `of=("self",)`: lock this row only, not its partner or connector.
    return (
        PendingRevocation.objects.filter(next_attempt_at__lte=now)
        .select_related("partner", "connector")
        .order_by("next_attempt_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )


def _retry_guarded(row: PendingRevocation, now: datetime) -> str:
    """`_retry_locked`, turning an unexpected error into a retry later (never a lost row)."""
    def postpone() -> str:
        row.attempts += 1
        return _postpone(row, now, message=UNEXPECTED_MESSAGE, kind="error")

    outcome = in_savepoint(row, lambda: _retry_locked(row, now), recover=postpone,
                           what="pending revocation")
    metrics.REVOCATIONS.labels("retry", str(outcome)).inc()
    return outcome


def _retry_locked(row: PendingRevocation, now: datetime) -> str:
    """Send the revocation for a row this transaction has locked; record what happened."""
    if is_unreadable(row.credentials) or is_unreadable(row.values):
        return _give_up(row, kind="credentials_unreadable", outcome=REFUSED)
    spec = row.connector.spec
    if not row.credentials or not spec.auth.revoke_url:
        # The catalogue entry lost its revocation endpoint since: nothing left to call.
        return _give_up(row, kind="not_supported", outcome=REFUSED)
    row.attempts += 1  # saved with whatever comes of it
    try:
        method = build_method(Context(spec=spec, values=dict(row.values)))
        method.revoke(dict(row.credentials))
    except TransientError as exc:
        return _postpone(row, now, message=exc.message, kind=exc.kind,
                         retry_after=exc.retry_after)
    except requests.RequestException as exc:  # a method that let one through
        return _postpone(row, now, message="The provider could not be reached.",
                         kind=type(exc).__name__)
    except AuthError as exc:  # 4xx other than 429, configuration: retrying will not help
        return _give_up(row, kind=exc.kind, outcome=REFUSED)
    log.info("pending revocation %s: revoked at attempt %s", row.pk, row.attempts)
    _finish(row, audit.Action.INSTALL_REVOKED_LATER)
    return REVOKED


def _postpone(row: PendingRevocation, now: datetime, *, message: str, kind: str,
              retry_after: float | None = None) -> str:
    """A transient failure: try again after a back-off, or give up after MAX_ATTEMPTS."""
    row.last_error = shorten(message)
    if row.attempts >= MAX_ATTEMPTS:
        return _give_up(row, kind="gave_up", outcome=GAVE_UP, last_kind=kind)
    delay = backoff_seconds(row.attempts, retry_after=retry_after)
    row.next_attempt_at = now + timedelta(seconds=delay)
    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    log.warning("pending revocation %s: still failing (%s), attempt %s, retry in %.0f s",
                row.pk, kind, row.attempts, delay)
    return POSTPONED


def _give_up(row: PendingRevocation, *, kind: str, outcome: str, **detail: Any) -> str:
    """No more attempts: the token may still be valid at the provider. Say so, loudly."""
    security_log.warning("pending revocation %s (install %s, connector %s): not revoked (%s) "
                         "after %s attempts; the token may still be valid at the provider",
                         row.pk, row.install_id, row.connector.slug, kind, row.attempts)
    _finish(row, audit.Action.INSTALL_REVOCATION_FAILED, kind=kind, **detail)
    return outcome


def _finish(row: PendingRevocation, action: str, **detail: Any) -> None:
    """Delete the row with an audit event naming it (the install may be gone)."""
    with transaction.atomic():
        audit.record(action, partner=row.partner, actor_label=ACTOR, install=row.install,
                     connector=row.connector, pending_id=row.pk, install_id=row.install_id,
                     attempts=row.attempts, **detail)
        row.delete()
