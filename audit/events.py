"""Writing audit events. Callers pass field names, statuses and error kinds -- never values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, JSONField, Model, Subquery
from django.db.models.sql.compiler import SQLCompiler
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


_SQL = tuple[str, tuple[str | int, ...]]


class _CountedUp(Func):
    """`detail` with its "count" one higher and "last_at" set, computed by the database in
    the UPDATE itself: nothing is read first, and an UPDATE that waited for a concurrent
    one's row lock counts up the value that one committed (PostgreSQL re-reads the row)."""

    output_field = JSONField()

    def __init__(self, last_at: str) -> None:
        super().__init__(F("detail"))
        self.last_at = last_at

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
               function: str | None = None, template: str | None = None,
               arg_joiner: str | None = None, **extra_context: Any) -> _SQL:
        raise NotSupportedError("record_counted supports PostgreSQL and SQLite")

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                      **extra_context: Any) -> _SQL:
        detail, params = compiler.compile(self.source_expressions[0])
        counted = f"to_jsonb(COALESCE(({detail} ->> 'count')::integer, 0) + 1)"
        return (f"jsonb_set(jsonb_set({detail}, '{{count}}', {counted}), '{{last_at}}', "
                "to_jsonb(%s::text))", (*params, *params, self.last_at))

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                  **extra_context: Any) -> _SQL:
        detail, params = compiler.compile(self.source_expressions[0])
        return (f"json_set({detail}, '$.count', COALESCE(json_extract({detail}, '$.count'), 0)"
                " + 1, '$.last_at', %s)", (*params, *params, self.last_at))


def record_counted(action: str, *, partner: Partner, actor_label: str, install: Installed,
                   **detail: Any) -> None:
    """Record a frequent action (an API key reading credentials) as one event per actor,
    install and minute whose `detail["count"]` says how often it happened.

    The latest event is counted up by one UPDATE (one round trip: this runs on every
    credentials read), which takes its row lock, so concurrent readers on PostgreSQL never
    lose a count; two that both find none each write one (counted 1): nothing goes
    unrecorded either way.
    """
    now = timezone.now()
    latest = (AuditEvent.objects.filter(action=action, install_id=install.pk,
                                        actor_label=actor_label,
                                        created_at__gte=now - COUNT_WINDOW)
              .order_by("-created_at", "-id").values("pk")[:1])
    if AuditEvent.objects.filter(pk=Subquery(latest)).update(
            detail=_CountedUp(now.isoformat())):
        return
    record(action, partner=partner, actor_label=actor_label, install=install, count=1,
           **detail)
