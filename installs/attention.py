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


def attention_counts(installs: QuerySet[Install], *, now: datetime | None = None) -> dict[str, str]:
    """How many installs of each kind need attention, and in all, as shown: each counted up
    to COUNT_CAP only ("1000+"), so the cost stays flat however many installs the partner
    has (a `LIMIT` inside each count; one query a kind)."""
    counts = {group: installs.filter(condition).order_by().values("pk")[:COUNT_CAP + 1].count()
              for group, condition in attention_filters(now).items()}
    shown = {group: _capped(n) for group, n in counts.items()}
    shown["all"] = _capped(sum(counts.values()))
    return shown


def _capped(count: int) -> str:
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)
