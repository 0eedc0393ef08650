"""Writing audit events. Callers pass field names, statuses and error kinds -- never values."""

from __future__ import annotations

from typing import Any

from accounts.models import Account, AuditEvent, Install, Partner, User

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
    install: Install | None = None,
    connector: Any = None,
    **detail: Any,
) -> AuditEvent:
    if install is not None:
        account = account or install.account
        connector = connector or install.connector
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
