"""Filters for templates/audit/_events.html: readable actions and details.

They live above the audit log because details name installs' statuses and auth types.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.dateparse import parse_datetime

from audit.models import action_label
from connectors.schema import AUTH_TYPE_LABELS
from installs.models import Install, Revocation

register = template.Library()

STATUS_LABELS = dict(Install.Status.choices)
# Detail keys whose values are codes with a readable name.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "auth_type": AUTH_TYPE_LABELS,
    "status": STATUS_LABELS,
    "previous_status": STATUS_LABELS,
    "revocation": dict(Revocation.choices),
}


@register.filter
def audit_action(action: str) -> str:
    return action_label(action)


@register.filter
def audit_detail(detail: Any) -> list[tuple[str, str]]:
    """(key, text) pairs; lists of field names are joined. Details never hold values."""
    if not isinstance(detail, dict):
        return []
    return [(str(key).replace("_", " "), _text(key, value))
            for key, value in sorted(detail.items())]


def _text(key: Any, value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        labels = VALUE_LABELS.get(str(key), {})
        if value in labels:
            return labels[value]
        moment = _datetime(value)
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _datetime(value: str) -> datetime | None:
    """An ISO timestamp written into a detail (e.g. a link's `expires_at`), else None."""
    if len(value) < 19 or "T" not in value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None
