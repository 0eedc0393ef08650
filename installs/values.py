"""What configures an install's auth method: the partner's Authentication Settings, then
the values entered at install for the keys the partner left blank.

`SavedSettings` is the one reader of a partner's saved Authentication Settings: the
console's install pages, the customer pages, the API, the proxy and the workers all read
them through it, and one reader serves a request (or a worker pass, where the installs of
one partner and connector share one read). `Setup` answers every question about one
install -- which fields it asks, which are missing, the merged values, the configured
method -- from that one read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from django.db.models import OuterRef, Subquery

from accounts.models import Partner
from connectors import dynamic
from connectors.auth import build_method
from connectors.auth.base import AuthError, AuthMethod, Context, ErrorKind
from connectors.models import Connector, PartnerAuthSettings
from connectors.schema import FieldSpec
from connectors.services import sign_in_callback_url
from core.fields import is_unreadable
from installs.models import Install, InstallQuerySet

#: The annotation `with_settings_saved_at` adds (None: never saved, or not annotated).
SETTINGS_SAVED_AT = "settings_saved_at"


class MissingValues(AuthError):
    """Authentication needs values nobody has entered yet (or that were consumed)."""

    kind = ErrorKind.MISSING_VALUES

    def __init__(self, fields: list[FieldSpec]) -> None:
        labels = [f.label for f in fields]
        listed = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        super().__init__(f"Enter the {listed} first.")
        self.fields = fields


class SavedSettings:
    """The one reader of partners' saved Authentication Settings: `of` and `for_install`
    return the `PartnerAuthSettings` a partner saved for a connector (decrypted), or None
    when it never saved any.

    A reader keeps what it read: make one per request (its form, install and sign-in
    then share one read) or per worker pass, and drop it after -- a copy kept longer could
    outlive a rotation of FERNET_KEYS or settings cleared on another machine.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[int, int], PartnerAuthSettings | None] = {}

    def of(self, partner: Partner | int, connector: Connector) -> PartnerAuthSettings | None:
        """The partner's settings for `connector`, read once for this reader's life."""
        key = (partner if isinstance(partner, int) else partner.pk, connector.pk)
        if key not in self._kept:
            self._kept[key] = _read(*key)
        return self._kept[key]

    def for_install(self, install: Install) -> PartnerAuthSettings | None:
        """The settings `install` is configured with.

        Joined in by its query (`InstallQuerySet.with_saved_settings`): no read. Otherwise
        a kept copy is served only when something vouches for it: this reader read it with
        `of` (the same request), or it was saved when the install's claim query saw the
        settings last saved (`with_settings_saved_at`: a save during a worker pass changes
        that, so the next install reads them afresh). Anything else is read again.
        """
        joined = getattr(install, "saved_settings", None)
        if joined is not None:
            return cast(PartnerAuthSettings, joined)
        key = (install.account.partner_id, install.connector_id)
        saved_at = getattr(install, SETTINGS_SAVED_AT, None)
        if key in self._kept:
            kept = self._kept[key]
            if saved_at is None or (kept is not None and kept.saved_at == saved_at):
                return kept
        settings = _read(*key)
        if saved_at is not None:
            self._kept[key] = settings
        return settings


def _read(partner_id: int, connector_id: int) -> PartnerAuthSettings | None:
    return PartnerAuthSettings.objects.filter(partner_id=partner_id,
                                              connector_id=connector_id).first()


def asked_fields(connector: Connector, partner: Partner | int, *,
                 saved: SavedSettings | None = None) -> list[FieldSpec]:
    """What an install asks: every account-level field, and partner-level ones left blank.

    Captured fields are never asked: the sign-in fills them in.
    """
    return _asked(connector, (saved or SavedSettings()).of(partner, connector))


def _asked(connector: Connector, settings: PartnerAuthSettings | None) -> list[FieldSpec]:
    return [f for f in connector.spec.fields
            if not f.is_captured
            and (not f.is_partner_level or settings is None or not settings.is_set(f.key))]


def with_settings_saved_at(queryset: InstallQuerySet) -> InstallQuerySet:
    """Installs annotated with when their partner last saved the connector's settings.

    One subquery on the unique (partner, connector) index, inside the query that loads the
    install anyway: it tells `SavedSettings.for_install` whether its copy is still current.
    """
    saved = PartnerAuthSettings.objects.filter(
        partner=OuterRef("account__partner"), connector=OuterRef("connector")).values("saved_at")
    return queryset.annotate(**{SETTINGS_SAVED_AT: Subquery(saved[:1])})


def readable(values: Any) -> dict[str, Any]:
    """An encrypted dict's contents, or {} when no configured key decrypts it."""
    return {} if is_unreadable(values) else dict(values or {})


@dataclass
class Setup:
    """One install's configuration, with the partner's settings read once."""

    install: Install
    settings: PartnerAuthSettings | None

    @classmethod
    def of(cls, install: Install, *, saved: SavedSettings | None = None) -> Setup:
        """`saved`: the reader of this request or worker pass (else a read of its own)."""
        return cls(install, (saved or SavedSettings()).for_install(install))

    @cached_property
    def values(self) -> dict[str, str]:
        """Partner settings, then install values for the keys the partner left blank."""
        merged: dict[str, str] = {}
        if self.settings is not None:
            merged = {k: str(v) for k, v in
                      {**self.settings.values, **readable(self.settings.secret_values)}.items()
                      if v}
        entered = {**self.install.values, **readable(self.install.secret_values)}
        for key, value in entered.items():
            if value and not merged.get(key):
                merged[key] = str(value)
        return merged

    @property
    def scopes(self) -> tuple[str, ...]:
        """What its sign-ins request: the install's own scopes, else the partner's, else the
        catalogue's defaults (the same on reauthentication and for client credentials)."""
        if self.install.requested_scopes is not None:
            return tuple(self.install.requested_scopes)
        spec = self.install.connector.spec
        return self.settings.sign_in_scopes(spec) if self.settings else spec.auth.scopes

    def asked(self) -> list[FieldSpec]:
        return _asked(self.install.connector, self.settings)

    def missing(self) -> list[FieldSpec]:
        """Required values nobody has entered (captured ones come with the sign-in)."""
        return [f for f in self.install.connector.spec.fields
                if f.required and not f.is_captured and not self.values.get(f.key)]

    def method(self, *, browser: bool = False, callback_url: str = "") -> AuthMethod:
        """The connector's auth method with the merged values; `browser` adds the callback
        URL that only sign-ins need (workers never build it): `callback_url`, the one the
        sign-in was begun with, or for a new sign-in the one the partner's settings use."""
        if browser and not callback_url:
            callback_url = sign_in_callback_url(self.install.connector, self.settings)
        spec = self.install.connector.spec
        context = Context(spec=spec, values=self.values,
                          callback_url=callback_url if browser else "", scopes=self.scopes)
        if spec.auth.discovers:  # endpoints and client found when needed (connectors/dynamic.py)
            context.discover = dynamic.resolver(
                spec, self.values, partner_id=self.install.account.partner_id,
                redirect_uri=callback_url or sign_in_callback_url(self.install.connector,
                                                                  self.settings))
        return build_method(context)


def method_for(install: Install, *, browser: bool = False,
               saved: SavedSettings | None = None) -> AuthMethod:
    """The connector's auth method, configured with this install's merged values."""
    return Setup.of(install, saved=saved).method(browser=browser)


