"""What the console's "Needs attention" shows: installs due now, failing to refresh, or
needing reauthentication -- as filters and counts, so nothing is decrypted."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, F, Q, QuerySet, When

from core.keyset import COUNT_CAP
from installs.models import Install, due_filter


def attention_filters(now: datetime | None = None) -> dict[str, Q]:
    """The three kinds of install a person should look at, as filters (no decryption)."""
    return {
        "reauth": Q(status=Install.Status.REAUTH_REQUIRED),
        "failing": Q(status=Install.Status.REFRESH_FAILING),
        "due": Q(status=Install.Status.AUTHENTICATED) & due_filter(now),
    }


def needing_attention(installs: QuerySet[Install], *, now: datetime | None = None,
                      group: str | None = None) -> QuerySet[Install]:
    """Installs that are due now, failing to refresh or need reauthentication.

    Most serious first (reauthentication, then failing, then due), soonest expiry first.
    """
    filters = attention_filters(now)
    chosen = [filters[group]] if group in filters else list(filters.values())
    condition = chosen[0]
    for extra in chosen[1:]:
        condition |= extra
    priority = Case(When(filters["reauth"], then=0), When(filters["failing"], then=1), default=2)
    return (installs.filter(condition).annotate(attention_priority=priority)
            .order_by("attention_priority", F("expires_at").asc(nulls_last=True), "pk"))


class AttentionRows:
    """`needing_attention(installs, group=…)` for a paginator to slice, each slice in at
    most three queries bounded by its end: the kinds come in order (reauthentication, then
    failing, then due), so a slice is the first rows of the first kind, then of the next…
    each read in (expires_at, id) order from an index (`install_attention`, or the refresh
    queue for the due ones) and stopped at the slice's end -- never a sort of every install
    needing attention, whatever their number."""

    ORDER = ("reauth", "failing", "due")

    def __init__(self, installs: QuerySet[Install], *, now: datetime | None = None,
                 group: str | None = None) -> None:
        filters = attention_filters(now)
        self.kinds = [installs.filter(filters[kind]).order_by(
            F("expires_at").asc(nulls_last=True), "pk")
            for kind in self.ORDER if group in (None, kind)]

    def __getitem__(self, wanted: slice) -> list[Install]:
        end = wanted.stop if wanted.stop is not None else 0
        rows: list[Install] = []
        for kind in self.kinds:
            if len(rows) >= end:
                break
            rows += list(kind[:end - len(rows)])
        return rows[wanted]


def attention_numbers(installs: QuerySet[Install], *,
                      now: datetime | None = None) -> dict[str, int]:
    """How many installs of each kind need attention, each counted up to COUNT_CAP + 1
    only (a `LIMIT` inside each count, one query a kind), so the cost stays flat however
    many installs the partner has."""
    return {group: installs.filter(condition).order_by().values("pk")[:COUNT_CAP + 1].count()
            for group, condition in attention_filters(now).items()}


def attention_counts(numbers: dict[str, int]) -> dict[str, str]:
    """`attention_numbers` as shown, and their sum as "all": "1000+" past the cap."""
    shown = {group: _capped(n) for group, n in numbers.items()}
    shown["all"] = _capped(sum(numbers.values()))
    return shown


def _capped(count: int) -> str:
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)
