"""Revocations retried after a provider outage (RFC 7009, SECURITY.md "provider 503").

Deauthenticating or deleting an install deletes its credentials at once, whatever the
provider says. When the revocation request fails transiently (5xx, 429, timeout, no
connection) the services keep, in the same transaction, a `PendingRevocation`: only the
token `revoke` needs and the merged values that configure the method, both encrypted.

`retry_revocations` (run by every `manage.py refresh_tokens` pass) works through the due
rows exactly like `refresh.run_pass` works through installs: one row at a time, locked
with `SELECT … FOR UPDATE SKIP LOCKED` across the provider call, so two workers never
send the same revocation. The back-off is the refresh workers' (`core.backoff`).

Outcomes of one row (`RetryOutcome`): "revoked" (row deleted), "refused" (the provider
refused for good: row deleted), "postponed" (transient again: tried later) and "gave_up"
(MAX_ATTEMPTS requests failed: row deleted). The row's transitions are its own methods
(`PendingRevocation.schedule`, `postpone`, `mark_revoked`, `give_up`); every end of a row
is audited there; tokens never are.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import requests
from django.utils import timezone

from connectors import dynamic
from connectors.auth import build_method
from connectors.auth.base import AuthError, Context, ErrorKind, TransientError
from connectors.services import callback_url
from core import metrics
from core.fields import is_unreadable
from core.locking import in_savepoint, work_through
from installs.models import PendingRevocation, RetryOutcome

log = logging.getLogger("hatchway.refresh")
security_log = logging.getLogger("hatchway.security")

REVOKED = RetryOutcome.REVOKED
REFUSED = RetryOutcome.REFUSED
POSTPONED = RetryOutcome.POSTPONED
GAVE_UP = RetryOutcome.GAVE_UP

MAX_ATTEMPTS = PendingRevocation.MAX_ATTEMPTS
ACTOR = PendingRevocation.ACTOR
UNEXPECTED_MESSAGE = "An unexpected error stopped the revocation; it will be retried."

for _outcome in RetryOutcome:  # every series from the start, at 0
    metrics.REVOCATIONS.labels("retry", _outcome.value)


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


def _retry_guarded(row: PendingRevocation, now: datetime) -> RetryOutcome:
    """`_retry_locked`, turning an unexpected error into a retry later (never a lost row)."""
    def postpone() -> RetryOutcome:
        row.attempts += 1
        return _postpone(row, now, message=UNEXPECTED_MESSAGE, kind=ErrorKind.ERROR)

    outcome = in_savepoint(row, lambda: _retry_locked(row, now), recover=postpone,
                           what="pending revocation")
    metrics.REVOCATIONS.labels("retry", str(outcome)).inc()
    return outcome


def _retry_locked(row: PendingRevocation, now: datetime) -> RetryOutcome:
    """Send the revocation for a row this transaction has locked; record what happened."""
    if is_unreadable(row.credentials) or is_unreadable(row.values):
        return _give_up(row, kind=ErrorKind.CREDENTIALS_UNREADABLE, outcome=REFUSED)
    spec = row.connector.spec
    if not row.credentials or not (spec.auth.revoke_url or spec.auth.discovers):
        # The catalogue entry lost its revocation endpoint since: nothing left to call.
        return _give_up(row, kind=ErrorKind.NOT_SUPPORTED, outcome=REFUSED)
    row.attempts += 1  # saved with whatever comes of it
    try:
        method = build_method(_context(row))
        if not method.offers_revocation:  # the discovered metadata lost its endpoint
            return _give_up(row, kind=ErrorKind.NOT_SUPPORTED, outcome=REFUSED)
        method.revoke(dict(row.credentials))
    except TransientError as exc:
        return _postpone(row, now, message=exc.message, kind=exc.kind,
                         retry_after=exc.retry_after)
    except requests.RequestException as exc:  # a method that let one through
        return _postpone(row, now, message="The provider could not be reached.",
                         kind=type(exc).__name__)
    except AuthError as exc:  # 4xx other than 429, configuration: retrying will not help
        return _give_up(row, kind=exc.kind, outcome=REFUSED)
    row.mark_revoked()
    return REVOKED


def _context(row: PendingRevocation) -> Context:
    """The method's context; a connector found by discovery gets its endpoints and the
    partner's registered client again (connectors/dynamic.py)."""
    spec = row.connector.spec
    context = Context(spec=spec, values=dict(row.values))
    if spec.auth.discovers:
        context.discover = dynamic.resolver(spec, context.values, partner_id=row.partner_id,
                                            redirect_uri=callback_url(row.connector.slug))
    return context


def _postpone(row: PendingRevocation, now: datetime, *, message: str, kind: str,
              retry_after: float | None = None) -> RetryOutcome:
    if row.postpone(now=now, message=message, kind=kind, retry_after=retry_after):
        return POSTPONED
    return GAVE_UP


def _give_up(row: PendingRevocation, *, kind: str, outcome: RetryOutcome) -> RetryOutcome:
    row.give_up(kind=kind)
    return outcome
