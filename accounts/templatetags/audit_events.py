"""Filters for templates/accounts/_audit_events.html: readable actions and details."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.dateparse import parse_datetime

from accounts.models import Install
from connectors.spec import AUTH_TYPE_LABELS

register = template.Library()

# Readable names for the actions this console writes; unknown ones are shown as they are.
# None equals a status badge's text ("Authenticated"), so pages never read ambiguously.
ACTION_LABELS = {
    "account.created": "Account created",
    "branding.saved": "Branding saved",
    "settings.saved": "Authentication Settings saved",
    "install.created": "Installed",
    "install.updated": "Install details changed",
    "install.auth_started": "Authentication started",
    "install.authenticated": "Install authenticated",
    "install.auth_failed": "Authentication failed",
    "install.cancelled": "Authentication cancelled",
    "install.verified": "Connection verified",
    "install.verify_failed": "Connection check failed",
    "install.deauthenticated": "Install deauthenticated",
    "install.deleted": "Install deleted",
    "install.refreshed": "Token refreshed",
    "install.refresh_failed": "Token refresh failed",
    "install.revocation_pending": "Token revocation pending",
    "install.revoked_later": "Token revoked (retried)",
    "install.revocation_failed": "Token revocation failed",
    "install.credentials_unreadable": "Stored credentials unreadable",
    "link.created": "Install link created",
    "link.opened": "Install link opened",
    "link.used": "Install link used",
    "link.revoked": "Install link revoked",
    "keys.rotated": "Encryption keys rotated",
}

STATUS_LABELS = dict(Install.Status.choices)
# Detail keys whose values are codes with a readable name.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "auth_type": AUTH_TYPE_LABELS,
    "status": STATUS_LABELS,
    "previous_status": STATUS_LABELS,
    "revocation": {
        "revoked": "revoked by the provider",
        "not_supported": "not offered by the provider",
        "unavailable": "provider unreachable, will be retried",
        "failed": "refused by the provider",
        "nothing_to_revoke": "nothing stored",
    },
}


@register.filter
def audit_action(action: str) -> str:
    return ACTION_LABELS.get(action, action)


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
