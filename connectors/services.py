"""Writes on the partner-level side that span several models, each with its audit event."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Partner, User
from audit import events as audit
from connectors.forms import clear_name
from connectors.models import Connector, PartnerAuthSettings
from connectors.schema import FieldSpec
from core.fields import is_unreadable


def callback_url(slug: str) -> str:
    """The connector's own callback URL, `<PUBLIC_URL>/connectors/<slug>/callback`, built
    from PUBLIC_URL (never the Host header). Its own, so that a provider's answer arriving
    for another connector's sign-in is recognised and refused (RFC 9700 §4.4, mix-up).

    The view behind it is the sign-in flow's (installs); it is found by its URL name.
    """
    return f"{settings.PUBLIC_URL}{reverse('connector_callback', args=[slug])}"


def shared_callback_url() -> str:
    """`<PUBLIC_URL>/connectors/callback`, once every connector's: still served for sign-ins
    begun with it, and used by settings saved before each connector had its own."""
    return f"{settings.PUBLIC_URL}{reverse('callback')}"


def sign_in_callback_url(connector: Connector, saved: PartnerAuthSettings | None) -> str:
    """The callback URL a new sign-in sends: the connector's own, unless the partner's
    settings predate it and the partner has not switched (their app registered the shared
    one: sending another would break their sign-ins)."""
    if saved is not None and saved.shared_callback:
        return shared_callback_url()
    return callback_url(connector.slug)


def use_own_callback(*, partner: Partner, connector: Connector, user: User) -> None:
    """Switch the partner's sign-ins of this connector to its own callback URL (the partner
    has registered it with the provider), audited like a save."""
    with transaction.atomic():
        updated = PartnerAuthSettings.objects.filter(
            partner=partner, connector=connector, shared_callback=True).update(
            shared_callback=False)
        if updated:
            partner.auth_settings_changed()
            audit.record(audit.Action.SETTINGS_SAVED, partner=partner, actor=user,
                         connector=connector, fields=["callback_url"])


@dataclass
class Entered:
    """Stored values after an edit, and the names of the fields that changed."""

    values: dict[str, Any]
    secret_values: Any
    changed: list[str]


def apply_entered(fields: Iterable[FieldSpec], *, values: dict[str, Any], secret_values: Any,
                  entered: Mapping[str, str], cleared: Collection[str] = ()) -> Entered:
    """Merge entered values into stored ones -- for Authentication Settings and installs.

    A blank secret keeps the stored one; only an explicit clear (`cleared`) removes it.
    A non-secret field that was entered blank is removed. A secret column no key
    decrypts is replaced only when a secret is entered or cleared.
    """
    unreadable = is_unreadable(secret_values)
    plain = dict(values)
    secrets = {} if unreadable else dict(secret_values or {})
    changed = []
    for field in fields:
        new = entered.get(field.key) or ""
        if field.secret:
            if field.key in cleared:
                if secrets.pop(field.key, None) is not None or unreadable:
                    changed.append(field.key)
            elif new and secrets.get(field.key) != new:
                secrets[field.key] = new
                changed.append(field.key)
        elif field.key in entered and plain.get(field.key, "") != new:
            if new:
                plain[field.key] = new
            else:
                plain.pop(field.key, None)
            changed.append(field.key)
    secret_changed = any(f.secret and f.key in changed for f in fields)
    return Entered(plain, secrets if not unreadable or secret_changed else secret_values,
                   changed)


def save_auth_settings(*, partner: Partner, connector: Connector, user: User | None,
                       cleaned: dict[str, Any], actor_label: str = "") -> PartnerAuthSettings:
    """Create or update the partner's Authentication Settings for one connector, from the
    cleaned data of an `AuthSettingsForm` (the console's, or the API's through it).

    `chosen_scopes` (when the connector has Scopes): the scopes new installs request, or
    None for the catalogue's defaults. Saving, even with nothing changed, marks the
    connector configured (the padlock closes). The audit event lists the changed field
    names, never a value; it names the user, or `actor_label` (an API key) when there is
    none.
    """
    with transaction.atomic():
        stored, _ = PartnerAuthSettings.objects.select_for_update().get_or_create(
            partner=partner, connector=connector)
        fields = connector.spec.partner_fields
        result = apply_entered(
            fields, values=stored.values, secret_values=stored.secret_values,
            entered={f.key: cleaned.get(f.key) or "" for f in fields},
            cleared={f.key for f in fields if f.secret and cleaned.get(clear_name(f.key))})
        stored.values, stored.secret_values = result.values, result.secret_values
        if "chosen_scopes" in cleaned and cleaned["chosen_scopes"] != stored.scopes:
            stored.scopes = cleaned["chosen_scopes"]
            result.changed.append("scopes")
        stored.saved_at = timezone.now()
        stored.saved_by = user
        stored.save()
        partner.auth_settings_changed()
        audit.record(audit.Action.SETTINGS_SAVED, partner=partner, actor=user,
                     actor_label=actor_label, connector=connector, fields=result.changed)
    return stored


def clear_auth_settings(*, partner: Partner, connector: Connector, user: User | None,
                        actor_label: str = "") -> bool:
    """Delete the partner's Authentication Settings for one connector: every value goes
    and the padlock opens again. False (and no event) when there was nothing saved."""
    with transaction.atomic():
        stored = PartnerAuthSettings.objects.select_for_update().filter(
            partner=partner, connector=connector).first()
        if stored is None:
            return False
        fields = sorted([*stored.values, *({} if is_unreadable(stored.secret_values)
                                           else stored.secret_values or {})])
        stored.delete()
        partner.auth_settings_changed()
        audit.record(audit.Action.SETTINGS_CLEARED, partner=partner, actor=user,
                     actor_label=actor_label, connector=connector, fields=fields)
    return True
