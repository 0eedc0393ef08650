"""Writing audit events. Callers pass field names, statuses and error kinds -- never values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import Account, Partner, User
from audit.models import Action, AuditEvent

__all__ = ["LINK_ACTOR", "Action", "as_user", "record", "record_counted"]

#: The actor label of what a customer does through an install link (no console login).
LINK_ACTOR = "install link"


class Installed(Protocol):
    """What record() reads from an install (installs.Install, a layer above this one)."""

    @property
    def account(self) -> Account: ...

    @property
    def connector(self) -> Model: ...

    @property
    def pk(self) -> Any: ...


def as_user(actor: Any) -> User | None:
    """The actor when it is a logged-in user; None for anonymous visitors, commands, workers."""
    return actor if getattr(actor, "is_authenticated", False) else None


def record(
    action: str,
    *,
    partner: Partner,
    actor: Any = None,
    actor_label: str = "",
    account: Account | None = None,
    install: Installed | None = None,
    connector: Model | None = None,
    **detail: Any,
) -> AuditEvent:
    if install is not None:
        account = account or install.account
        connector = connector or install.connector
    user = as_user(actor)
    # The event's install and connector are foreign keys by name to the layers above, which
    # django-stubs types as their models; this layer may name them only as what it reads.
    return AuditEvent.objects.create(  # type: ignore[misc]
        partner=partner,
        actor=user,
        actor_label=actor_label or ("" if user else "system"),
        action=action,
        account=account,
        install=install,
        connector=connector,
        detail=detail,
    )


#: How long one counted event keeps counting (`record_counted`).
COUNT_WINDOW = timedelta(minutes=1)


def record_counted(action: str, *, partner: Partner, actor_label: str, install: Installed,
                   **detail: Any) -> None:
    """Record a frequent action (an API key reading credentials) as one event per actor,
    install and minute whose `detail["count"]` says how often it happened.

    The latest event is counted up under its row lock, so concurrent readers on
    PostgreSQL never lose a count; two that both find none each write one (counted 1):
    nothing goes unrecorded either way.
    """
    now = timezone.now()
    with transaction.atomic():
        event = (AuditEvent.objects.select_for_update()
                 .filter(action=action, install_id=install.pk, actor_label=actor_label,
                         created_at__gte=now - COUNT_WINDOW)
                 .order_by("-created_at", "-id").first())
        if event is None:
            record(action, partner=partner, actor_label=actor_label, install=install,
                   count=1, **detail)
            return
        event.detail = {**event.detail, "count": int(event.detail.get("count", 0)) + 1,
                        "last_at": now.isoformat()}
        event.save(update_fields=["detail"])
