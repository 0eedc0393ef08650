"""Writing audit events. Callers pass field names, statuses and error kinds -- never values."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from accounts.models import Account, Partner, User
from audit.models import Action, AuditEvent

__all__ = ["LINK_ACTOR", "Action", "as_user", "record"]

#: The actor label of what a customer does through an install link (no console login).
LINK_ACTOR = "install link"


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
    install: Model | None = None,
    connector: Model | None = None,
    **detail: Any,
) -> AuditEvent:
    if install is not None:
        account = account or install.account  # type: ignore[attr-defined]
        connector = connector or install.connector  # type: ignore[attr-defined]
    user = as_user(actor)
    return AuditEvent.objects.create(
        partner=partner,
        actor=user,
        actor_label=actor_label or ("" if user else "system"),
        action=action,
        account=account,
        install=install,
        connector=connector,
        detail=detail,
    )
