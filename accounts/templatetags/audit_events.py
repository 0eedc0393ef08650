"""Filters for templates/accounts/_audit_events.html: readable actions and details."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

# Readable names for the actions this console writes; others are shown as they are.
ACTION_LABELS = {
    "install.refreshed": "Token refreshed",
    "install.refresh_failed": "Token refresh failed",
    "install.credentials_unreadable": "Stored credentials unreadable",
    "keys.rotated": "Encryption keys rotated",
}


@register.filter
def audit_action(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@register.filter
def audit_detail(detail: Any) -> list[tuple[str, str]]:
    """(key, text) pairs; lists of field names are joined. Details never hold values."""
    if not isinstance(detail, dict):
        return []
    return [(str(key).replace("_", " "), _text(value)) for key, value in sorted(detail.items())]


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
