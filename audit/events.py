"""Writing audit events. Callers pass field names, statuses and error kinds -- never values."""

from __future__ import annotations

from typing import Any, Protocol

from django.db.models import Model

from accounts.models import Account, Partner, User
from audit.models import Action, AuditEvent

__all__ = ["LINK_ACTOR", "Action", "as_user", "record"]

#: The actor label of what a customer does through an install link (no console login).
LINK_ACTOR = "install link"


class Installed(Protocol):
    """What record() reads from an install (installs.Install, a layer above this one)."""

    @property
    def account(self) -> Account: ...

    @property
    def connector(self) -> Model: ...


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
