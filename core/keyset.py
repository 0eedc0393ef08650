"""Keyset pagination for console lists: a page's cost does not grow with the rows before it.

`Paginator` pages with ``OFFSET n`` -- the database reads and throws away the n rows before
the page -- and counts every matching row for "Page 3 of 180". Both grow with the table
(a partner with 50,000 accounts: a deep page reads 25,000 rows). A keyset page starts
after (or before) a row instead, ``WHERE name >= … AND (name > … OR id > …)``: the
``name >= …`` bound is what lets the index start at the row (PostgreSQL's plan has it as
the index condition; the ``OR`` alone was a filter over every row before the page, 22,500
rows at a million installs); its links name that row's id (``?after=123``,
``?before=123``), and the total is counted up to `COUNT_CAP` only (``LIMIT`` inside the
count): "1,000+ accounts".

A link names a row of the list itself: an id that is not a whole number, or not a row
this list shows (another partner's, deleted since, outside the search), is refused with
`InvalidCursor` -- the view shows the first page with a message, never a database error.
Queries per page, at any size: the cursor's row (none on the first page), the page and
the capped count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q, QuerySet

COUNT_CAP = 1000
#: The largest value of a 64-bit signed id column (PostgreSQL bigint, SQLite INTEGER).
MAX_ID = 2**63 - 1
INVALID_CURSOR = "That page link is not valid (any more): here is the first page."


class InvalidCursor(ValueError):
    """An `after`/`before` the list never handed out."""


@dataclass
class KeysetPage:
    object_list: list[Any]
    next_after: int | None  # the id for ?after= of the next page, None on the last
    previous_before: int | None  # the id for ?before= of the previous page, None on the first
    count: int  # matching rows, up to COUNT_CAP + 1
    capped: bool  # more than COUNT_CAP match: show "COUNT_CAP+"

    @property
    def has_other_pages(self) -> bool:
        return self.next_after is not None or self.previous_before is not None


def keyset_page(queryset: QuerySet[Any], *, key: str, per_page: int,
                after: str | None = None, before: str | None = None) -> KeysetPage:
    """The page of `queryset`, ordered by (`key`, pk), after or before the row named.

    Raises `InvalidCursor` when `after`/`before` is malformed or names no row of `queryset`.
    """
    count = queryset.order_by().values("pk")[:COUNT_CAP + 1].count()
    if after is not None or before is not None:
        rows, has_more = _from_cursor(queryset, key, per_page, after=after, before=before)
        if after is not None:
            next_after = rows[-1].pk if has_more and rows else None
            previous_before = rows[0].pk if rows else None
        else:
            previous_before = rows[0].pk if has_more and rows else None
            next_after = rows[-1].pk if rows else None
    else:
        rows = list(queryset.order_by(key, "pk")[:per_page + 1])
        next_after = rows[per_page - 1].pk if len(rows) > per_page else None
        rows, previous_before = rows[:per_page], None
    return KeysetPage(rows, next_after, previous_before, min(count, COUNT_CAP),
                      count > COUNT_CAP)


def _from_cursor(queryset: QuerySet[Any], key: str, per_page: int, *, after: str | None,
                 before: str | None) -> tuple[list[Any], bool]:
    """The rows after (or before) the cursor's row, and whether more lie beyond them."""
    forward = after is not None
    row = _cursor_row(queryset, key, after if forward else before)
    value = getattr(row, key)
    if forward:
        beyond = Q(**{f"{key}__gte": value}) & (
            Q(**{f"{key}__gt": value}) | Q(**{key: value, "pk__gt": row.pk}))
        ordered = queryset.filter(beyond).order_by(key, "pk")
    else:
        beyond = Q(**{f"{key}__lte": value}) & (
            Q(**{f"{key}__lt": value}) | Q(**{key: value, "pk__lt": row.pk}))
        ordered = queryset.filter(beyond).order_by(f"-{key}", "-pk")
    rows = list(ordered[:per_page + 1])
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    return (rows if forward else rows[::-1]), has_more


def _cursor_row(queryset: QuerySet[Any], key: str, cursor: str | None) -> Model:
    text = (cursor or "").strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise InvalidCursor(INVALID_CURSOR)
    row: Model | None = queryset.order_by().only("pk", key).filter(pk=int(text)).first()
    if row is None:
        raise InvalidCursor(INVALID_CURSOR)
    return row
