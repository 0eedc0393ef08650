"""Writes on the partner-level side that span several models, each with its audit event."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Partner, User
from connectors.crypto import is_unreadable
from connectors.forms import clear_name
from connectors.models import Connector, PartnerAuthSettings


def callback_url() -> str:
    """The one callback URL of every connector, built from PUBLIC_URL (never the Host header)."""
    return f"{settings.PUBLIC_URL}/connectors/callback"


def _apply(connector: Connector, stored: PartnerAuthSettings, cleaned: dict[str, Any]
           ) -> list[str]:
    """Merge cleaned form data into `stored`; return the names of the fields that changed.

    A blank secret keeps the stored one; only its "Clear" checkbox removes it. A secret
    column no key decrypts is replaced only when a secret is entered or cleared.
    """
    values = dict(stored.values)
    unreadable = is_unreadable(stored.secret_values)
    secrets = {} if unreadable else dict(stored.secret_values)
    changed = []
    for field in connector.spec.partner_fields:
        new = cleaned.get(field.key) or ""
        if field.secret:
            if cleaned.get(clear_name(field.key)):
                if secrets.pop(field.key, None) is not None or unreadable:
                    changed.append(field.key)
            elif new and secrets.get(field.key) != new:
                secrets[field.key] = new
                changed.append(field.key)
        elif values.get(field.key, "") != new:
            if new:
                values[field.key] = new
            else:
                values.pop(field.key, None)
            changed.append(field.key)
    stored.values = values
    if not unreadable or any(f.secret and f.key in changed
                             for f in connector.spec.partner_fields):
        stored.secret_values = secrets
    return changed


def save_auth_settings(*, partner: Partner, connector: Connector, user: User,
                       cleaned: dict[str, Any]) -> PartnerAuthSettings:
    """Create or update the partner's Authentication Settings for one connector.

    Saving, even with nothing changed, marks the connector configured (the padlock
    closes). The audit event lists the changed field names, never a value.
    """
    with transaction.atomic():
        stored, _ = PartnerAuthSettings.objects.select_for_update().get_or_create(
            partner=partner, connector=connector)
        changed = _apply(connector, stored, cleaned)
        stored.saved_at = timezone.now()
        stored.saved_by = user
        stored.save()
        audit.record("settings.saved", partner=partner, actor=user, connector=connector,
                     fields=changed)
    return stored
