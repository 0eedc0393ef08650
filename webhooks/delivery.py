"""Delivering webhook events: signed POSTs to untrusted URLs, retried for days.

Any number of `deliver_webhooks` (or `worker`) processes share one PostgreSQL: each
delivery is claimed with `FOR UPDATE SKIP LOCKED` and its row stays locked until the
attempt's outcome is saved (core.locking), so no two workers send the same delivery at
once. An attempt is a POST through connectors.http.post_untrusted (SSRF guard, pinned
address, no redirects, 64 KB read at most, WEBHOOK_TIMEOUT); any 2xx is delivered.
Otherwise it is retried with exponential back-off and jitter (WEBHOOK_RETRY_BASE,
doubling up to WEBHOOK_RETRY_CAP) until RETRY_FOR has passed; an endpoint that has not
had one success for DISABLE_AFTER is disabled (audited, shown on the Webhooks page).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import events as audit
from connectors import http
from core import metrics
from core.backoff import backoff_seconds
from core.locking import in_savepoint, work_through
from webhooks import signing
from webhooks.models import (
    DISABLE_AFTER,
    KEPT_BODY_BYTES,
    Attempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

log = logging.getLogger("hatchway.webhooks")

#: At most this much of a receiver's answer is read.
MAX_RESPONSE_BYTES = 64 * 1024
DELIVERY_ACTOR = "webhook delivery"

DELIVERED = "delivered"
RETRYING = "retrying"
FAILED = "failed"
LABELS = {DELIVERED: "delivered", RETRYING: "retry later", FAILED: "failed"}
PRUNED_LABELS = {"events": "events pruned"}

UNREADABLE_SECRET = "The signing secret cannot be read (encryption key lost): rotate it."


def deliver_pass(*, batch_size: int = 1000, now: datetime | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> Counter[str]:
    """Attempt due deliveries, one row lock at a time, until none is due (or `batch_size`).

    An endpoint whose attempt failed is passed over for the rest of the pass (its other
    deliveries wait for its back-off anyway), so a partner whose endpoint hangs costs
    one timeout per pass, not one per queued event, and other partners' events go out.
    """
    clock: Callable[[], datetime] = (lambda: now) if now else timezone.now
    passed_over: set[int] = set()

    def attempt_noting_failures(row: WebhookDelivery) -> str:
        outcome = _attempt_guarded(row, clock())
        if outcome != DELIVERED:
            passed_over.add(row.endpoint_id)
        return outcome

    return work_through(lambda: _claim(clock(), passed_over), attempt_noting_failures,
                        batch_size=batch_size, should_stop=should_stop, what="webhook delivery")


def _claim(now: datetime, passed_over: set[int]) -> WebhookDelivery | None:
    """The most overdue delivery nobody holds, to an endpoint with an in-flight slot free
    (`_take_slot`); an endpoint with none is passed over for the rest of the pass."""
    while True:
        row = (WebhookDelivery.objects
               .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now,
                       endpoint__enabled=True).exclude(endpoint_id__in=passed_over)
               .order_by("next_attempt_at", "pk").select_related("event", "endpoint")
               .select_for_update(skip_locked=True, of=("self",)).first())
        if row is None or _take_slot(row.endpoint_id):
            return row
        passed_over.add(row.endpoint_id)


#: The advisory-lock keys of endpoints' in-flight slots: this prefix, the endpoint, the slot.
_SLOTS = 0x5748 << 48


def _take_slot(endpoint_id: int) -> bool:
    """One of the endpoint's WEBHOOK_MAX_IN_FLIGHT delivery slots, held until the claiming
    transaction ends: at most that many deliveries to one endpoint are in flight across
    all workers (PostgreSQL advisory locks). Elsewhere one process delivers: always."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        for slot in range(int(settings.WEBHOOK_MAX_IN_FLIGHT)):
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)",
                           [_SLOTS | endpoint_id << 8 | slot])
            if cursor.fetchone()[0]:
                return True
    return False


def _attempt_guarded(delivery: WebhookDelivery, now: datetime) -> str:
    return in_savepoint(delivery, lambda: attempt(delivery, now=now),
                        what="delivering webhook",
                        recover=lambda: _record(delivery, Attempt(ok=False, error=(
                            "An unexpected error stopped the delivery; it is retried.")), now))


def attempt(delivery: WebhookDelivery, *, now: datetime) -> str:
    """One signed POST of the delivery's event to its endpoint, and its outcome saved."""
    endpoint, event = delivery.endpoint, delivery.event
    secrets = [] if endpoint.secret_unreadable else endpoint.signing_secrets(now)
    if not secrets:
        return _record(delivery, Attempt(ok=False, error=UNREADABLE_SECRET), now)
    # The wall clock, not the pass's `now`: receivers refuse timestamps 5 minutes off.
    headers = signing.headers(secrets, msg_id=event.public_id,
                              timestamp=int(timezone.now().timestamp()), body=event.body)
    return _record(delivery, post(endpoint.url, event, headers), now)


def post(url: str, event: WebhookEvent, headers: dict[str, str]) -> Attempt:
    """POST the event's body; what came of it, in words safe to show the partner."""
    try:
        answer = http.post_untrusted(url, data=event.body.encode(), headers=headers,
                                     timeout=settings.WEBHOOK_TIMEOUT,
                                     max_bytes=MAX_RESPONSE_BYTES)
    except http.RedirectRefused as exc:
        code = exc.response.status_code if exc.response is not None else None
        return Attempt(ok=False, status_code=code, error="Redirect not followed.")
    except http.UnsafeURL as exc:
        return Attempt(ok=False, error=f"Refused: {exc}")
    except requests.Timeout:
        return Attempt(ok=False, error=f"No answer within {settings.WEBHOOK_TIMEOUT:g} s.")
    except requests.ConnectionError:
        return Attempt(ok=False, error="Could not connect.")
    except requests.RequestException as exc:
        return Attempt(ok=False, error=f"Request failed ({type(exc).__name__}).")
    return Attempt(ok=200 <= answer.status_code < 300, status_code=answer.status_code,
                   response_ms=round(answer.seconds * 1000), body=_kept(answer.body),
                   error="" if answer.status_code < 300 else f"HTTP {answer.status_code}")


def _kept(body: bytes) -> str:
    """The first KEPT_BODY_BYTES as text (shown escaped); NUL cannot be stored."""
    return body[:KEPT_BODY_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")


def _record(delivery: WebhookDelivery, result: Attempt, now: datetime) -> str:
    retry_at = None if result.ok else now + timedelta(seconds=backoff_seconds(
        delivery.attempts + 1, base=settings.WEBHOOK_RETRY_BASE,
        cap=settings.WEBHOOK_RETRY_CAP))
    with transaction.atomic():
        delivery.record_attempt(result, now=now, retry_at=retry_at)
        _endpoint_health(delivery.endpoint, ok=result.ok, now=now)
    if result.ok:
        outcome = DELIVERED
    else:
        log.info("webhook delivery %s: attempt %s failed (%s)", delivery.pk, delivery.attempts,
                 result.error)
        outcome = RETRYING if delivery.status == WebhookDelivery.Status.PENDING else FAILED
    metrics.observe_webhook_delivery(outcome)
    return outcome


def _endpoint_health(endpoint: WebhookEndpoint, *, ok: bool, now: datetime) -> None:
    """Track failing without a success; disable after DISABLE_AFTER. Conditional updates:
    the endpoint row is written only when this changes, not on every delivery."""
    rows = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if ok:
        rows.filter(failing_since__isnull=False).update(failing_since=None)
        return
    if rows.filter(failing_since__isnull=True).update(failing_since=now):
        return
    if rows.filter(enabled=True, failing_since__lte=now - DISABLE_AFTER).update(
            enabled=False, disabled_at=now):
        audit.record(audit.Action.WEBHOOK_ENDPOINT_DISABLED, partner=endpoint.partner,
                     actor_label=DELIVERY_ACTOR, endpoint=endpoint.pk,
                     failing_days=DISABLE_AFTER.days)
        log.warning("webhook endpoint %s disabled after failing for %s", endpoint.pk,
                    DISABLE_AFTER)


def prune(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete events (and their deliveries) older than WEBHOOK_RETENTION_DAYS, in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    old = WebhookEvent.objects.filter(created_at__lt=cutoff)
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch_size]):
        WebhookEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
