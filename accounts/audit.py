"""Writing audit events. Callers pass field names, statuses and error kinds -- never values."""

from __future__ import annotations

from typing import Any

from accounts.models import Account, AuditEvent, Install, Partner


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
    user = actor if getattr(actor, "is_authenticated", False) else None
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
