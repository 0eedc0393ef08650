"""Writing audit events. Callers pass field names, statuses and error kinds -- never values."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import NotSupportedError, connection
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

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def last_error(self) -> str: ...


def subject(*, account: Account | None, install: Installed | None,
            connector: Model | None) -> dict[str, Any]:
    """The event's subject as it is now, kept in the event: what its webhook reports even
    after the rows are changed or gone (ids, names, the status; never a secret)."""
    kept: dict[str, Any] = {}
    if account is not None:
        kept["account"] = {"external_id": account.external_id, "name": account.name}
    if connector is not None:
        kept["connector"] = getattr(connector, "slug", "")
    if install is not None:
        kept["install"] = {"id": install.pk, "name": install.name, "status": install.status,
                           "error": install.last_error}
    return kept


def as_user(actor: Any) -> User | None:
    """The actor when it is a logged-in user; None for anonymous visitors, commands, workers."""
    return actor if getattr(actor, "is_authenticated", False) else None


def record(
    action: str,
    *,
    partner: Partner | int,
    actor: Any = None,
    actor_label: str = "",
    account: Account | None = None,
    install: Installed | None = None,
    connector: Model | None = None,
    **detail: Any,
) -> AuditEvent:
    """One event. `partner` may be given by id: an install locked by a refresh worker
    comes without its partner row (`InstallQuerySet.for_update(partner=False)`)."""
    if install is not None:
        account = account or install.account
        connector = connector or install.connector
    user = as_user(actor)
    # The event's install and connector are foreign keys by name to the layers above, which
    # django-stubs types as their models; this layer may name them only as what it reads.
    return AuditEvent.objects.create(  # type: ignore[misc]
        partner_id=partner if isinstance(partner, int) else partner.pk,
        actor=user,
        actor_label=actor_label or ("" if user else "system"),
        action=action,
        account=account,
        install=install,
        connector=connector,
        detail=detail,
        subject=subject(account=account, install=install, connector=connector),
    )


#: How long one counted event keeps counting (`record_counted`).
COUNT_WINDOW = timedelta(minutes=1)


#: `detail` with its "count" one higher and "last_at" set (the parameter), computed by the
#: database in the UPDATE itself: nothing is read first, and an UPDATE that waited for a
#: concurrent one's row lock counts up the value that one committed (PostgreSQL re-reads
#: the row).
_COUNTED_UP = {
    "postgresql": "jsonb_set(jsonb_set({detail}, '{{count}}', "
                  "to_jsonb(COALESCE(({detail} ->> 'count')::integer, 0) + 1)), "
                  "'{{last_at}}', to_jsonb(%s::text))",
    "sqlite": "json_set({detail}, '$.count', COALESCE(json_extract({detail}, '$.count'), 0)"
              " + 1, '$.last_at', %s)",
}


@functools.cache
def _count_up_statement(vendor: str) -> str:
    """The UPDATE `_count_up` runs, for this database (names from the model's _meta, every
    value a parameter)."""
    if vendor not in _COUNTED_UP:
        raise NotSupportedError("record_counted supports PostgreSQL and SQLite")
    quote, meta = connection.ops.quote_name, AuditEvent._meta
    column = {f.name: quote(f.column) for f in meta.concrete_fields if f.column}
    counted = _COUNTED_UP[vendor].format(detail=column["detail"])
    return (f"UPDATE {quote(meta.db_table)} SET {column['detail']} = {counted} "  # noqa: S608
            f"WHERE {column['id']} = %s AND {column['action']} = %s "
            f"AND {column['install']} = %s AND {column['actor_label']} = %s "
            f"AND {column['created_at']} >= %s")


def _count_up(pk: int, *, action: str, install_pk: Any, actor_label: str,
              since: datetime, now: datetime) -> bool:
    """Count event `pk` up by one if it is still this action's, install's and actor's and
    was written since `since`; False when it is not (or no longer exists).

    One statement written out rather than built by the ORM: it runs on every credentials
    read, and compiling `QuerySet.update()` cost more than the database's work.
    """
    with connection.cursor() as cursor:
        cursor.execute(_count_up_statement(connection.vendor),
                       [now.isoformat(), pk, action, install_pk, actor_label,
                        connection.ops.adapt_datetimefield_value(since)])
        return bool(cursor.rowcount == 1)


#: The event each (action, install, actor) is counting into, as this process last saw it
#: (`record_counted`): a hint that saves finding it, never trusted without the database.
_counting: dict[tuple[str, Any, str], int] = {}
_COUNTING_MAX = 10_000  # forgotten all at once beyond this: each is found again


def record_counted(action: str, *, partner: Partner, actor_label: str, install: Installed,
                   **detail: Any) -> None:
    """Record a frequent action (an API key reading credentials) as one event per actor,
    install and minute whose `detail["count"]` says how often it happened.

    The event is counted up by one UPDATE (this runs on every credentials read), which
    takes its row lock, so concurrent readers on PostgreSQL never lose a count. The
    event this process counted into last is updated by its primary key, as long as it
    is still the action's, the install's and the actor's and within its minute;
    otherwise the latest such event (another process's, perhaps) is looked up, or a new
    one written. Two that both find none each write one (counted 1): nothing goes
    unrecorded either way.
    """
    now = timezone.now()
    slot, since = (action, install.pk, actor_label), now - COUNT_WINDOW
    mine: dict[str, Any] = {"action": action, "install_pk": install.pk,
                            "actor_label": actor_label, "since": since, "now": now}
    known = _counting.get(slot)
    if known is not None and _count_up(known, **mine):
        return
    latest = (AuditEvent.objects.filter(action=action, install_id=install.pk,
                                        actor_label=actor_label, created_at__gte=since)
              .order_by("-created_at", "-id").values_list("pk", flat=True).first())
    if latest is None or not _count_up(latest, **mine):
        latest = record(action, partner=partner, actor_label=actor_label, install=install,
                        count=1, **detail).pk
    if len(_counting) >= _COUNTING_MAX:
        _counting.clear()
    _counting[slot] = latest
