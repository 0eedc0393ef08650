"""Queries compiled once: for hot queries whose compiling costs more than running them.

Django builds a queryset and compiles its SQL anew every time one is evaluated. For the
partner API's credentials read, the install's lookup (the install, its account and
connector, and the partner's Authentication Settings joined in) spent about 0.9 ms of
Python on that, against 0.3 ms in PostgreSQL: 44% of a worker's CPU in all. A refresh
worker's claim, the same query for every install of a pass, was 37% of the worker's.

- A `PreparedLookup` builds its queryset once per thread and database connection, with
  stand-ins for its arguments, and compiles it; each call runs that SQL with its own
  arguments. Only integer arguments are substituted (primary keys and ids): they reach
  the database as they are on every backend, so the stand-ins are found among the
  compiled parameters by value.
- A `CompiledQuery` is one queryset, compiled at its first run and then run again as it
  is, parameters and all: a worker pass's claim (`… FOR UPDATE SKIP LOCKED`, whose
  every run skips the rows locked by then).

Both turn the rows into instances with the compiler's own column map, converters (JSON,
encrypted fields) and `select_related` populators: what Django's `ModelIterable` does
once it has compiled. They lean on those parts of the compiler (`select`, `klass_info`,
`results_iter`), which `tests/core/test_prepared.py` checks against the ORM's own answer
on every database the suite runs on. A queryset compiled so must depend on nothing that
changes between runs other than a lookup's arguments (no `timezone.now()` inside, no
setting); prefetches and extra selects are refused, and a row lock outside a
transaction is refused as Django refuses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # internal: see above
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)

# Far from any real id, each argument its own: found among the compiled parameters by value.
STAND_IN = -(2**62)
_Positions = tuple[tuple[int, str], ...]  # (index among the parameters, argument name)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    compiler: SQLCompiler
    locks: bool  # SELECT … FOR UPDATE, which needs a transaction
    init_list: tuple[str, ...]
    fields: slice
    populators: Sequence[Any]
    annotations: dict[str, int]

    def run(self, params: Sequence[Any], *, rows: int) -> list[Any]:
        """At most `rows` instances."""
        connection = self.compiler.connection
        if self.locks and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            found = cursor.fetchmany(rows)
        return list(self._instances(found, connection.alias))

    def _instances(self, rows: list[Sequence[Any]], db: str) -> Iterator[Any]:
        model = self.compiler.klass_info["model"]
        for row in self.compiler.results_iter([rows]):
            instance = model.from_db(db, self.init_list, row[self.fields])
            for populator in self.populators:
                populator.populate(row, instance)
            for name, position in self.annotations.items():
                setattr(instance, name, row[position])
            yield instance


def _compile(queryset: QuerySet[Any], connection: BaseDatabaseWrapper) -> _Compiled:
    """`queryset`'s SQL, parameters and row map, as Django would run it on `connection`."""
    query = queryset.query
    if (queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            or queryset._known_related_objects or query.extra_select):  # type: ignore[attr-defined]
        raise ImproperlyConfigured("A compiled query takes no prefetch or extra select.")
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    klass_info, select = compiler.klass_info, compiler.select
    if klass_info is None:
        raise ImproperlyConfigured("A compiled query returns model instances.")
    first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1]
    return _Compiled(
        sql=sql, params=tuple(params), compiler=compiler,
        locks=bool(query.select_for_update) and connection.features.has_select_for_update,
        init_list=tuple(column[0].target.attname for column in select[first:last + 1]),
        fields=slice(first, last + 1),
        populators=get_related_populators(  # type: ignore[call-arg]  # Django 5.2's arguments
            klass_info, select, connection.alias),
        annotations=dict(compiler.annotation_col_map or {}),
    )


class CompiledQuery(Generic[M]):
    """One queryset, compiled at its first run (on the connection of that run's thread)
    and from then on run as it is."""

    def __init__(self, queryset: QuerySet[M]) -> None:
        self.queryset = queryset if queryset.ordered else queryset.order_by("pk")  # as first()
        self._compiled: _Compiled | None = None

    def first(self) -> M | None:
        """`queryset.first()`: its first row in its order, or None."""
        connection = connections[self.queryset.db]
        compiled = self._compiled
        if compiled is None or compiled.compiler.connection is not connection:
            compiled = self._compiled = _compile(self.queryset[:1], connection)
        found: list[M] = compiled.run(compiled.params, rows=1)
        return found[0] if found else None


class PreparedLookup(Generic[M]):
    """`build(**arguments).get()`, compiled once per thread and connection.

    `build` takes the named integer `arguments` and returns the queryset; `get` raises the
    model's DoesNotExist and MultipleObjectsReturned as `QuerySet.get` does.
    """

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]], *arguments: str,
                 using: str = DEFAULT_DB_ALIAS) -> None:
        self.model = model
        self.build = build
        self.arguments = arguments
        self.using = using
        self._local = threading.local()

    def get(self, **arguments: int) -> M:
        if set(arguments) != set(self.arguments):
            raise TypeError(f"{self.model.__name__} lookup takes {', '.join(self.arguments)}")
        if any(type(value) is not int for value in arguments.values()):
            raise TypeError(f"{self.model.__name__} lookup takes integers only")
        compiled, positions = self._compiled(connections[self.using])
        params = list(compiled.params)
        for position, name in positions:
            params[position] = arguments[name]
        found: list[M] = compiled.run(params, rows=2)
        model: Any = self.model  # its DoesNotExist and MultipleObjectsReturned
        if not found:
            raise model.DoesNotExist(f"No {model.__name__} matches {arguments}.")
        if len(found) > 1:
            raise model.MultipleObjectsReturned(
                f"More than one {model.__name__} matches {arguments}.")
        return found[0]

    def _compiled(self, connection: BaseDatabaseWrapper) -> tuple[_Compiled, _Positions]:
        compiled: tuple[_Compiled, _Positions] | None = getattr(self._local, "compiled", None)
        if compiled is None or compiled[0].compiler.connection is not connection:
            compiled = self._local.compiled = self._compile(connection)
        return compiled

    def _compile(self, connection: BaseDatabaseWrapper) -> tuple[_Compiled, _Positions]:
        stand_ins = {name: STAND_IN - i for i, name in enumerate(self.arguments)}
        # As get() runs it: unordered, two rows to tell one from several.
        compiled = _compile(self.build(**stand_ins).order_by()[:2], connection)
        positions = tuple((index, name) for index, value in enumerate(compiled.params)
                          for name, stand_in in stand_ins.items()
                          if type(value) is int and value == stand_in)
        if sorted(name for _, name in positions) != sorted(self.arguments):
            raise ImproperlyConfigured(
                f"Each argument of a prepared {self.model.__name__} lookup must appear once "
                f"in its SQL: {', '.join(self.arguments)}.")
        return compiled, positions
