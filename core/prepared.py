"""Lookups compiled once: for a hot query whose compiling costs more than running it.

Django builds a queryset and compiles its SQL anew every time one is evaluated. For the
partner API's credentials read, the install's lookup (the install, its account and
connector, and the partner's Authentication Settings joined in) spent about 0.9 ms of
Python on that, against 0.3 ms in PostgreSQL, and 44% of a worker's CPU in all.

A `PreparedLookup` builds its queryset once per thread and database connection, with
stand-ins for its arguments, and compiles it. Each call then runs that SQL with its own
arguments and turns the rows into instances with the compiler's own column map,
converters (JSON, encrypted fields) and `select_related` populators: what Django's
`ModelIterable` does once it has compiled. It leans on those parts of the compiler
(`select`, `klass_info`, `results_iter`), which `tests/core/test_prepared.py` checks
against the ORM's own answer on every database the suite runs on.

Only integer arguments are substituted (primary keys and ids): they reach the database
as they are on every backend, so the stand-ins are found among the compiled parameters by
value. The queryset must depend on nothing else that changes between calls (no
`timezone.now()`, no setting), and row locks, prefetches and extra selects are refused.
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

M = TypeVar("M", bound=Model)

# Far from any real id, each argument its own: found among the compiled parameters by value.
STAND_IN = -(2**62)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: tuple[tuple[int, str], ...]  # (index in params, argument name)
    compiler: SQLCompiler
    init_list: tuple[str, ...]
    fields: slice
    populators: Sequence[Any]
    annotations: dict[str, int]

    def instances(self, rows: list[Sequence[Any]], db: str) -> Iterator[Any]:
        model = self.compiler.klass_info["model"]
        for row in self.compiler.results_iter([rows]):
            instance = model.from_db(db, self.init_list, row[self.fields])
            for populator in self.populators:
                populator.populate(row, instance)
            for name, position in self.annotations.items():
                setattr(instance, name, row[position])
            yield instance


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
        connection = connections[self.using]
        compiled = self._compiled(connection)
        params = list(compiled.params)
        for position, name in compiled.positions:
            params[position] = arguments[name]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(2)
        found: list[M] = list(compiled.instances(rows, self.using))
        model: Any = self.model  # its DoesNotExist and MultipleObjectsReturned
        if not found:
            raise model.DoesNotExist(f"No {model.__name__} matches {arguments}.")
        if len(found) > 1:
            raise model.MultipleObjectsReturned(
                f"More than one {model.__name__} matches {arguments}.")
        return found[0]

    def _compiled(self, connection: BaseDatabaseWrapper) -> _Compiled:
        compiled: _Compiled | None = getattr(self._local, "compiled", None)
        if compiled is None or compiled.compiler.connection is not connection:
            compiled = self._local.compiled = self._compile(connection)
        return compiled

    def _compile(self, connection: BaseDatabaseWrapper) -> _Compiled:
        stand_ins = {name: STAND_IN - i for i, name in enumerate(self.arguments)}
        queryset = self.build(**stand_ins)
        query = queryset.query
        if (query.select_for_update or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
                or queryset._known_related_objects or query.extra_select):  # type: ignore[attr-defined]
            raise ImproperlyConfigured("A prepared lookup takes no row lock, prefetch or extra.")
        query = queryset[:2].query  # as get() would: two rows tell one from several
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        positions = tuple((index, name) for index, value in enumerate(params)
                          for name, stand_in in stand_ins.items()
                          if type(value) is int and value == stand_in)
        if sorted(name for _, name in positions) != sorted(self.arguments):
            raise ImproperlyConfigured(
                f"Each argument of a prepared {self.model.__name__} lookup must appear once "
                f"in its SQL: {', '.join(self.arguments)}.")
        klass_info, select = compiler.klass_info, compiler.select
        if klass_info is None:
            raise ImproperlyConfigured("A prepared lookup returns model instances.")
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1]
        return _Compiled(
            sql=sql, params=tuple(params), positions=positions, compiler=compiler,
            init_list=tuple(column[0].target.attname for column in select[first:last + 1]),
            fields=slice(first, last + 1),
            populators=get_related_populators(  # type: ignore[call-arg]  # Django 5.2's arguments
                klass_info, select, self.using),
            annotations=dict(compiler.annotation_col_map or {}),
        )
