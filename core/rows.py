"""Model instances from a hand-written SQL statement, through Django's public API only.

For a hot query whose building and compiling by the ORM costs more than the database
running it (the partner API's credentials read): the SQL is written once, here in
plain text, run with `connection.cursor()`, and each model's share of the row becomes
an instance by `Model.from_db` (the documented hook the ORM itself loads rows with).

Values arrive as the database driver returns them; each column passes through its
field's `from_db_value` when it has one (JSON, the encrypted fields: the documented
hook custom fields convert with), a boolean through `to_python` (SQLite returns 0 or 1),
and a datetime the driver returned without a zone (SQLite keeps UTC as naive text) is
made aware in UTC, as Django's SQLite backend does. No other conversion is made: a model
whose fields need one (decimals, dates, UUIDs, …) is refused, so that a field added
later cannot be loaded wrong silently.
Whoever writes such a statement tests its instances against the ORM's (see
tests/core/test_rows.py and tests/api/test_lookups.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

M = TypeVar("M", bound=models.Model)

#: Fields whose values the drivers return as the field holds them.
PLAIN = (models.AutoField, models.BigAutoField, models.CharField, models.TextField,
         models.IntegerField, models.ForeignKey, models.DateTimeField, models.BooleanField)


@functools.cache
def fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    """The model's columns, in the order `columns` selects them (once per model: a
    model's fields do not change while the process runs)."""
    found = tuple(model._meta.concrete_fields)
    for field in found:
        if not hasattr(field, "from_db_value") and not isinstance(field, PLAIN):
            raise ImproperlyConfigured(
                f"{model.__name__}.{field.name} ({type(field).__name__}) needs a conversion "
                "core.rows does not make.")
    return found


@functools.cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in fields(model)]


Converter = Callable[[Any, BaseDatabaseWrapper], Any]


@functools.cache
def _conversions(model: type[models.Model]) -> tuple[tuple[int, Converter], ...]:
    """The columns that need converting, by position, each with its converter (chosen
    once per model, not per value: a credentials read converts 23); the others (ids,
    text, integers: most of them) are taken as the driver returned them."""
    return tuple((i, converter) for i, field in enumerate(fields(model))
                 if (converter := _converter(field)) is not None)


def columns(model: type[models.Model], alias: str) -> str:
    """`alias."column", …` for every column of `model`, for a SELECT list."""
    return ", ".join(f'{alias}."{field.column}"' for field in fields(model))


def table(model: type[models.Model]) -> str:
    return f'"{model._meta.db_table}"'


def instance(model: type[M], values: Sequence[Any], connection: BaseDatabaseWrapper) -> M:
    """A `model` instance, as loaded from `connection`'s database, from its columns'
    values in `columns`' order."""
    names = _attnames(model)
    if len(values) != len(names):
        raise ValueError(f"{model.__name__} has {len(names)} columns, not {len(values)}.")
    converted = list(values)
    for i, convert in _conversions(model):
        converted[i] = convert(converted[i], connection)
    return model.from_db(connection.alias, names, converted)


def split(row: Sequence[Any], *models_: type[models.Model]) -> Iterator[Sequence[Any]]:
    """A row of `columns(models_[0]), columns(models_[1]), …` cut into each model's share."""
    start = 0
    for model in models_:
        width = len(fields(model))
        yield row[start:start + width]
        start += width


def _converter(field: models.Field[Any, Any]) -> Converter | None:
    if hasattr(field, "from_db_value"):
        return lambda value, connection: field.from_db_value(value, None, connection)
    if isinstance(field, models.BooleanField):
        return lambda value, connection: None if value is None else field.to_python(value)
    if isinstance(field, models.DateTimeField):
        return _aware
    return None


def _aware(value: Any, connection: BaseDatabaseWrapper) -> Any:
    if isinstance(value, str):
        value = parse_datetime(value)
    # Naive first (a C call): PostgreSQL's are aware, and the setting is a lazy lookup.
    if isinstance(value, datetime) and timezone.is_naive(value) and settings.USE_TZ:
        value = value.replace(tzinfo=UTC)
    return value
