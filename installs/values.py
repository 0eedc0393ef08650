"""What configures an install's auth method: the partner's Authentication Settings, then
the values entered at install for the keys the partner left blank.

`Setup` reads (and decrypts) the partner's settings once per request or worker step;
every question about one install -- which fields it asks, which are missing, the merged
values, the configured method -- is answered from that one read. A worker pass goes one
step further with `SettingsReads`: the installs of one partner and connector share one
read for the length of the pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import OuterRef, Subquery

from accounts.models import Partner
from connectors.auth import build_method
from connectors.auth.base import AuthError, AuthMethod, Context
from connectors.models import Connector, PartnerAuthSettings
from connectors.services import sign_in_callback_url
from connectors.spec import FieldSpec
from core.fields import is_unreadable
from installs.models import Install, InstallQuerySet

#: The annotation `with_settings_saved_at` adds (None: never saved, or not annotated).
SETTINGS_SAVED_AT = "settings_saved_at"


class MissingValues(AuthError):
    """Authentication needs values nobody has entered yet (or that were consumed)."""

    kind = "missing_values"

    def __init__(self, fields: list[FieldSpec]) -> None:
        labels = [f.label for f in fields]
        listed = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        super().__init__(f"Enter the {listed} first.")
        self.fields = fields


def partner_settings(partner: Partner | int, connector: Connector) -> PartnerAuthSettings | None:
    partner_id = partner if isinstance(partner, int) else partner.pk
    return PartnerAuthSettings.objects.filter(partner_id=partner_id, connector=connector).first()


@dataclass(frozen=True)
class Saved:
    """The partner's Authentication Settings for one connector, read (and decrypted) once
    per request and handed to the form and the services that need them."""

    settings: PartnerAuthSettings | None

    @classmethod
    def read(cls, partner: Partner | int, connector: Connector) -> Saved:
        return cls(partner_settings(partner, connector))


def fields_asked(connector: Connector, saved: PartnerAuthSettings | None) -> list[FieldSpec]:
    """What an install asks: every account-level field, and partner-level ones left blank.

    Captured fields are never asked: the sign-in fills them in.
    """
    return [f for f in connector.spec.fields
            if not f.is_captured
            and (not f.is_partner_level or saved is None or not saved.is_set(f.key))]


def with_settings_saved_at(queryset: InstallQuerySet) -> InstallQuerySet:
    """Installs annotated with when their partner last saved the connector's settings.

    One subquery on the unique (partner, connector) index, inside the query that loads the
    install anyway: it tells `SettingsReads` whether its copy is still current.
    """
    saved = PartnerAuthSettings.objects.filter(
        partner=OuterRef("account__partner"), connector=OuterRef("connector")).values("saved_at")
    return queryset.annotate(**{SETTINGS_SAVED_AT: Subquery(saved[:1])})


class SettingsReads:
    """Partner settings read (and decrypted) once per worker pass, not once per install.

    Keyed by partner, connector and `saved_at` as the install's claim query saw it
    (`with_settings_saved_at`): settings saved during the pass change the key, so the next
    install reads them afresh. Make one per pass and drop it after: a copy kept longer
    could outlive a rotation of FERNET_KEYS or settings cleared on another machine.
    """

    def __init__(self) -> None:
        self._read: dict[tuple[int, int, datetime], PartnerAuthSettings] = {}

    def of(self, install: Install) -> PartnerAuthSettings | None:
        partner_id, connector_id = install.account.partner_id, install.connector_id
        saved_at = getattr(install, SETTINGS_SAVED_AT, None)
        cached = self._read.get((partner_id, connector_id, saved_at)) if saved_at else None
        if cached is not None:
            return cached
        saved = partner_settings(partner_id, install.connector)
        if saved is not None and saved.saved_at is not None:
            self._read[(partner_id, connector_id, saved.saved_at)] = saved
        return saved


def asked_fields(connector: Connector, partner: Partner, *,
                 saved: Saved | None = None) -> list[FieldSpec]:
    return fields_asked(connector, (saved or Saved.read(partner, connector)).settings)


def readable(values: Any) -> dict[str, Any]:
    """An encrypted dict's contents, or {} when no configured key decrypts it."""
    return {} if is_unreadable(values) else dict(values or {})


@dataclass
class Setup:
    """One install's configuration, with the partner's settings read once."""

    install: Install
    saved: PartnerAuthSettings | None

    @classmethod
    def of(cls, install: Install, *, saved: Saved | None = None,
           reads: SettingsReads | None = None) -> Setup:
        """`saved`: the settings a request already read; `reads`: a worker pass's shared
        reads (otherwise they are read here)."""
        if reads is not None:
            return cls(install, reads.of(install))
        if saved is None:
            joined = getattr(install, "saved_settings", None)  # with_saved_settings()
            saved = Saved(joined) if joined is not None else Saved.read(
                install.account.partner_id, install.connector)
        return cls(install, saved.settings)

    @cached_property
    def values(self) -> dict[str, str]:
        """Partner settings, then install values for the keys the partner left blank."""
        merged: dict[str, str] = {}
        if self.saved is not None:
            merged = {k: str(v) for k, v in
                      {**self.saved.values, **readable(self.saved.secret_values)}.items() if v}
        entered = {**self.install.values, **readable(self.install.secret_values)}
        for key, value in entered.items():
            if value and not merged.get(key):
                merged[key] = str(value)
        return merged

    def asked(self) -> list[FieldSpec]:
        return fields_asked(self.install.connector, self.saved)

    def missing(self) -> list[FieldSpec]:
        """Required values nobody has entered (captured ones come with the sign-in)."""
        return [f for f in self.install.connector.spec.fields
                if f.required and not f.is_captured and not self.values.get(f.key)]

    def method(self, *, browser: bool = False, callback_url: str = "") -> AuthMethod:
        """The connector's auth method with the merged values; `browser` adds the callback
        URL that only sign-ins need (workers never build it): `callback_url`, the one the
        sign-in was begun with, or for a new sign-in the one the partner's settings use."""
        if browser and not callback_url:
            callback_url = sign_in_callback_url(self.install.connector, self.saved)
        context = Context(spec=self.install.connector.spec, values=self.values,
                          callback_url=callback_url if browser else "")
        return build_method(context)


def method_for(install: Install, *, browser: bool = False,
               reads: SettingsReads | None = None) -> AuthMethod:
    """The connector's auth method, configured with this install's merged values."""
    return Setup.of(install, reads=reads).method(browser=browser)


