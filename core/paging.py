"""A page of a queryset in one query: the rows carry the total, so no COUNT runs first.

Django's `Paginator.get_page` counts the matching rows, then fetches the page: two round
trips on every list page. `page_of` fetches the page with the count as an uncorrelated
scalar subquery beside each row, ``(SELECT COUNT(*) FROM … same filters …)``: PostgreSQL
runs it once, doing the work of Django's COUNT, in the page's round trip. (A window
function, ``COUNT(*) OVER ()``, would cost more: it evaluates every annotation of every
matching row, not of one page's.) An empty first page is known empty without a COUNT.
A missing or malformed page number means page 1, as for `get_page`; past the end or
below 1, or so far past it that the offset would not fit the database's 64-bit integers
(page 2^63), it hands over to `get_page` itself, which answers exactly as before (the last
page).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Func, IntegerField, QuerySet, Subquery

from core.keyset import COUNT_CAP

TOTAL = "page_total"
#: The largest OFFSET + LIMIT a query may carry (PostgreSQL's bigint, SQLite's INTEGER).
MAX_ROW = 2**63 - 1


class CountAll(Func):
    """``COUNT(*)`` as a plain expression: the one-row count of the query it is selected by."""

    function = "COUNT"
    template = "%(function)s(*)"
    output_field = IntegerField()


def page_of(queryset: QuerySet[Any], number: Any, per_page: int) -> Page[Any]:
    """`Paginator(queryset, per_page).get_page(number)`, in one query for any page with rows."""
    paginator = Paginator(queryset, per_page)
    wanted = _page_number(number)
    if wanted is None or wanted * per_page > MAX_ROW:
        return paginator.get_page(number)
    offset = (wanted - 1) * per_page
    total = Subquery(queryset.order_by().annotate(**{TOTAL: CountAll()}).values(TOTAL))
    rows = list(queryset.annotate(**{TOTAL: total})[offset:offset + per_page])
    if rows or wanted == 1:  # no rows on page 1: nothing matches at all
        paginator.count = getattr(rows[0], TOTAL) if rows else 0  # the cached_property
        return Page(rows, wanted, paginator)
    page = paginator.get_page(number)  # past the end: the last page, after a COUNT
    if paginator.count == 0:
        page.object_list = []  # an empty first page: nothing to fetch
    return page


def _page_number(number: Any) -> int | None:
    """The page `get_page` would show when it has rows; None below 1 (it shows the last)."""
    try:
        wanted = int(number)
    except (TypeError, ValueError):  # Django's PageNotAnInteger: the first page
        return 1
    return wanted if wanted >= 1 else None


class CappedPaginator(Paginator):  # type: ignore[type-arg]
    """A `Paginator` over at most the first `COUNT_CAP` rows of a queryset: its count reads
    no further (``SELECT COUNT(*) FROM (… LIMIT COUNT_CAP + 1)``), so page 1 costs the same
    at any size, and so does the last page it offers. `capped` says there were more.

    `seen`: the rows, counted up to COUNT_CAP + 1 already by the caller; the object list is
    then anything sliceable (`installs.attention.AttentionRows`)."""

    def __init__(self, object_list: Any, per_page: int, *, seen: int | None = None) -> None:
        super().__init__(object_list, per_page)
        self.rows, self.seen = object_list, seen

    @cached_property
    def _seen(self) -> int:
        if self.seen is not None:
            return self.seen
        return int(self.rows.order_by().values("pk")[:COUNT_CAP + 1].count())

    @cached_property
    def count(self) -> int:
        return min(self._seen, COUNT_CAP)

    @property
    def capped(self) -> bool:
        return self._seen > COUNT_CAP
