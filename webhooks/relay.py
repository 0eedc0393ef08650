"""The outbox relay: audit events become webhook events and their deliveries.

Every install transition (and account and link change) writes its audit event in the
transaction of the change, so a rollback takes the event with it and a commit keeps it:
the audit table is the outbox. The relay claims events not relayed yet, one at a time
with `FOR UPDATE SKIP LOCKED` (core.locking.work_through), and in one transaction writes
the webhook event, one delivery per enabled endpoint that subscribes to its type, and the
audit event's `relayed_at`. Audit events that are not webhook news are marked relayed too.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.events import subject as audit_subject
from audit.models import Action, AuditEvent
from core.locking import in_savepoint, work_through
from installs.models import INSTALL_SECRETS, Install
from webhooks.models import (
    RETRY_FOR,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_event_id,
)

log = logging.getLogger("hatchway.webhooks")

RELAYED = "relayed"
NOT_NEWS = "not_news"
LABELS = {RELAYED: "webhook events", NOT_NEWS: "other audit events"}

Status = Install.Status
#: An install leaving one of these for "Authenticated" has recovered.
TROUBLED = {Status.REFRESH_FAILING, Status.REAUTH_REQUIRED}
#: Plain words for the error of a failing install, when it recorded no message.
ERRORS: dict[EventType, str] = {
    EventType.INSTALL_REFRESH_FAILING: "The token refresh failed; it is retried.",
    EventType.INSTALL_REAUTH_REQUIRED: "The install must be authenticated again.",
}
PLAIN: dict[str, EventType] = {
    Action.ACCOUNT_CREATED: EventType.ACCOUNT_CREATED,
    Action.ACCOUNT_DELETED: EventType.ACCOUNT_DELETED,
    Action.INSTALL_CREATED: EventType.INSTALL_CREATED,
    Action.INSTALL_DEAUTHENTICATED: EventType.INSTALL_DEAUTHENTICATED,
    Action.INSTALL_DELETED: EventType.INSTALL_DELETED,
    Action.LINK_USED: EventType.INSTALL_LINK_USED,
}


def event_type(event: AuditEvent) -> EventType | None:
    """The webhook event an audit event reports, or None (not news to a partner).

    A repeated failure (failing → failing) is no transition and sends nothing.
    """
    if event.action in PLAIN:
        return PLAIN[event.action]
    status, previous = event.detail.get("status"), event.detail.get("previous_status")
    if event.action == Action.INSTALL_AUTHENTICATED:
        return (EventType.INSTALL_RECOVERED if previous in TROUBLED
                else EventType.INSTALL_AUTHENTICATED)
    if event.action in (Action.INSTALL_REFRESHED, Action.INSTALL_VERIFIED):
        recovered = previous in TROUBLED and status == Status.AUTHENTICATED
        return EventType.INSTALL_RECOVERED if recovered else None
    if status == previous:
        return None
    if event.action == Action.INSTALL_REFRESH_FAILED:
        return {Status.REFRESH_FAILING: EventType.INSTALL_REFRESH_FAILING,
                Status.REAUTH_REQUIRED: EventType.INSTALL_REAUTH_REQUIRED}.get(status)
    if event.action == Action.INSTALL_CREDENTIALS_UNREADABLE:
        return EventType.INSTALL_REAUTH_REQUIRED
    return None


def payload(event: AuditEvent, type_: EventType, public_id: str) -> dict[str, Any]:
    """`{"id", "type", "created_at", "data": {"account", "install", "error"?, "imported"?}}`:
    names, ids and statuses only, never a secret -- as they were when the event was written (its
    `subject`), not as the rows are now: they may have changed or be gone by the relay."""
    subject = event.subject or _subject_of_rows(event)
    data: dict[str, Any] = {"account": _account(event, subject),
                            "install": _install(event, type_, subject)}
    if type_ in ERRORS:
        data["error"] = (subject.get("install") or {}).get("error") or ERRORS[type_]
    if event.action == Action.INSTALL_AUTHENTICATED and event.detail.get("imported"):
        data["imported"] = True  # credentials imported, not a sign-in (installs/importing.py)
    return {"id": public_id, "type": type_, "created_at": event.created_at.isoformat(),
            "data": data}


def _subject_of_rows(event: AuditEvent) -> dict[str, Any]:
    """An event written before events kept their subject: what its rows say now."""
    return audit_subject(account=event.account, install=event.install,
                         connector=event.connector)


def _account(event: AuditEvent, subject: dict[str, Any]) -> dict[str, str] | None:
    if "account" in subject:
        return dict(subject["account"])
    if event.action == Action.ACCOUNT_DELETED:  # the account is not the event's subject
        return {"external_id": event.detail.get("external_id", ""),
                "name": event.detail.get("name", "")}
    return None


def _install(event: AuditEvent, type_: EventType, subject: dict[str, Any]) -> dict[str, Any] | None:
    if not type_.startswith("install"):
        return None
    # A deleted install is not the event's subject (the row goes in that transaction):
    # its id, name and status are in the event's detail.
    install = subject.get("install") or {"id": event.detail.get("install_id"),
                                         "name": event.detail.get("name", ""),
                                         "status": event.detail.get("status")}
    return {"id": install["id"], "connector": subject.get("connector"),
            "name": install["name"], "status": install["status"]}


# --- the relay pass ---------------------------------------------------------------------


def relay_pass(*, batch_size: int = 1000, now: datetime | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> Counter[str]:
    """Relay audit events until none is left unrelayed (or `batch_size`)."""
    return work_through(_claim, lambda event: _relay_guarded(event, now or timezone.now()),
                        batch_size=batch_size, should_stop=should_stop, what="audit event")


def _claim() -> AuditEvent | None:
    return (AuditEvent.objects.filter(relayed_at__isnull=True).order_by("pk")
            .select_related("account", "install", "connector").defer(*INSTALL_SECRETS)
            .select_for_update(skip_locked=True, of=("self",)).first())


def _relay_guarded(event: AuditEvent, now: datetime) -> str:
    """`relay`; an event whose payload cannot be built is logged and passed over, so it
    never blocks the events behind it."""
    return in_savepoint(event, lambda: relay(event, now=now), what="relaying audit event",
                        recover=lambda: _mark_relayed(event, now, NOT_NEWS))


def relay(event: AuditEvent, *, now: datetime) -> str:
    """One audit event → its webhook event and deliveries, all in one transaction."""
    type_ = event_type(event)
    with transaction.atomic():
        if type_ is not None:
            fan_out(event.partner_id, type_, created_at=event.created_at, audit_event=event,
                    now=now, build=lambda public_id: payload(event, type_, public_id))
        return _mark_relayed(event, now, NOT_NEWS if type_ is None else RELAYED)


def _mark_relayed(event: AuditEvent, now: datetime, outcome: str) -> str:
    AuditEvent.objects.filter(pk=event.pk).update(relayed_at=now)
    return outcome


def fan_out(partner_id: int, type_: str, *, created_at: datetime, now: datetime,
            build: Callable[[str], dict[str, Any]], audit_event: AuditEvent | None = None,
            endpoints: list[WebhookEndpoint] | None = None) -> WebhookEvent:
    """The event (its body built once) and a delivery, due now, for each endpoint: by
    default the partner's enabled endpoints that receive `type_` and were there when it
    happened (an endpoint added while the relay lagged gets no older news)."""
    if endpoints is None:
        endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(
            partner_id=partner_id, enabled=True, created_at__lte=created_at).defer("secrets")
            if endpoint.receives(type_)]
    public_id = new_event_id()
    webhook = WebhookEvent.objects.create(
        partner_id=partner_id, public_id=public_id, type=type_, audit_event=audit_event,
        body=json.dumps(build(public_id), separators=(",", ":")), created_at=created_at)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=webhook, endpoint=endpoint, next_attempt_at=now,
                        give_up_at=now + RETRY_FOR) for endpoint in endpoints)
    return webhook
