"""A partner's custom connectors: connectors only that partner sees, defined in the
catalogue format and validated by the same models (connectors/schema/, through
connectors/spec.py), then stored on a Connector row with `owner` set.

A definition is untrusted input. Besides the catalogue's own rules it must be at most
64 KB, use only the catalogue's categories (a partner's category would show in every
partner's library filter), point only at public https hosts (connectors/hosts.py at save
time here, connectors/http.py's guard again on every call), and not point at this server.
Every change is audited with the keys that changed; a definition holds no secret value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Partner, User
from audit import events as audit
from connectors.hosts import endpoint_problem
from connectors.issuer_discovery import DiscoveryError, discover
from connectors.models import SANDBOX_SLUG_PREFIX, Catalogue, Category, Connector
from connectors.schema import PLACEHOLDER_RE, ConnectorSpec
from connectors.spec import CatalogError, validate
from connectors.sync import connector_columns

MAX_DEFINITION_BYTES = 64 * 1024
CUSTOM_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# OAuth 2.0 and client credentials without `fields`: a partner-level app.
DEFAULT_FIELDS: dict[str, list[dict[str, Any]]] = {
    "oauth2": [{"key": "client_id", "label": "Client ID"},
               {"key": "client_secret", "label": "Client Secret", "secret": True}],
}
DEFAULT_FIELDS["oauth2_client_credentials"] = DEFAULT_FIELDS["oauth2"]
SLUG_KEY = "slug"
# Path segments of the console's Connectors pages: a slug there would shadow them.
RESERVED_SLUGS = {"custom", "new", "guides", "callback"}
WHOLE = "(definition)"


class DefinitionError(ValueError):
    """A refused definition: messages by dotted key (`auth.token_url`). Nothing was saved."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{key}: {' '.join(messages)}"
                                   for key, messages in errors.items()))


def refuse(key: str, message: str) -> DefinitionError:
    return DefinitionError({key: [message]})


class InUse(Exception):
    """The connector has installs: it cannot be deleted (retire it instead)."""

    def __init__(self, installs: int, reason: str = "") -> None:
        self.installs = installs
        super().__init__(reason or f"{installs} install(s) use this connector: retire it "
                                   "instead, or delete the installs first.")


@dataclass(frozen=True)
class Definition:
    """A checked definition: the slug and the data to store."""

    slug: str
    data: dict[str, Any]


def size_of(data: Any) -> int:
    return len(json.dumps(data, ensure_ascii=False, default=str).encode())


def check_size(data: Any) -> None:
    """At most 64 KB, and no NUL anywhere (PostgreSQL stores no NUL in JSON text)."""
    if size_of(data) > MAX_DEFINITION_BYTES:
        raise refuse(WHOLE, f"is larger than {MAX_DEFINITION_BYTES // 1024} KB")
    if _has_nul(data):
        raise refuse(WHOLE, "must not contain NUL characters")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def check_new_slug(partner: Partner, slug: Any) -> str:
    """The slug of a new custom connector, or DefinitionError naming `slug`."""
    if not isinstance(slug, str) or not CUSTOM_SLUG_RE.match(slug):
        raise refuse(SLUG_KEY, "must be 2 to 63 lower-case letters, digits and '-', starting "
                               "with a letter or digit")
    if slug in RESERVED_SLUGS:
        raise refuse(SLUG_KEY, "is reserved for the console's pages: choose another")
    if slug.startswith(SANDBOX_SLUG_PREFIX):
        raise refuse(SLUG_KEY, f"may not start with {SANDBOX_SLUG_PREFIX!r} (the sandbox's)")
    if Connector.objects.catalogue().filter(slug=slug).exists():
        raise refuse(SLUG_KEY, "is a catalogue connector's: choose another")
    if Connector.objects.custom(partner).filter(slug=slug).exists():
        raise refuse(SLUG_KEY, "is already one of your custom connectors")
    return slug


def with_default_fields(data: dict[str, Any]) -> dict[str, Any]:
    """OAuth 2.0 and client credentials may omit `fields`: a Client ID and Client Secret."""
    auth = data.get("auth")
    kind = auth.get("type") if isinstance(auth, dict) else None
    if "fields" not in data and isinstance(kind, str) and kind in DEFAULT_FIELDS:
        return {**data, "fields": [dict(f) for f in DEFAULT_FIELDS[kind]]}
    return data


def with_discovered(data: dict[str, Any]) -> dict[str, Any]:
    """`"auth": {"type": "oauth2", "issuer": …}` without a token URL: the endpoints (and
    PKCE, scopes and client authentication) from the issuer's metadata; keys given win."""
    auth = data.get("auth")
    if not isinstance(auth, dict) or auth.get("type") not in DEFAULT_FIELDS:
        return data
    issuer = auth.get("issuer")
    if not isinstance(issuer, str) or not issuer or auth.get("token_url"):
        return data
    try:
        found = discover(issuer, sign_in=auth["type"] == "oauth2").auth
    except DiscoveryError as error:
        raise refuse("auth.issuer", str(error)) from None
    if auth["type"] != "oauth2":  # client credentials: no browser sign-in to protect
        found = {k: v for k, v in found.items() if k not in ("authorize_url", "pkce", "issuer")}
    merged_auth = {**found, **{k: v for k, v in auth.items() if k != "issuer"},
                   **({"issuer": found["issuer"]} if "issuer" in found else {})}
    defaults = merged_auth.get("scopes")
    if "optional_scopes" not in auth and isinstance(defaults, list):
        merged_auth["optional_scopes"] = [o for o in found.get("optional_scopes", [])
                                          if o["scope"] not in defaults]
    return {**data, "auth": merged_auth}


def checked(partner: Partner, slug: str, data: Any) -> dict[str, Any]:
    """The data to store for `data`, or DefinitionError: the catalogue's rules, then the
    custom connector's (size, categories, safe URLs)."""
    check_size(data)
    if not isinstance(data, dict):
        raise refuse(WHOLE, "must be an object (a table) of the catalogue format")
    data = with_default_fields({k: v for k, v in data.items() if k != SLUG_KEY})
    try:
        stored = validate(f"custom connector {slug}", slug, data)
    except CatalogError as error:
        raise refuse(error.key, error.message) from None
    spec = ConnectorSpec.from_data(slug, stored)
    check_categories(spec)
    check_urls(spec)
    return stored


def check_categories(spec: ConnectorSpec) -> None:
    known = set(Category.objects.filter(connectors__owner__isnull=True)
                .values_list("name", flat=True))
    for index, name in enumerate(spec.categories):
        if name not in known:
            raise refuse(f"categories[{index}]", "must be one of the catalogue's categories")


def check_urls(spec: ConnectorSpec) -> None:
    """Every URL a definition gives must be one the server may call (at save time; each
    call checks again): https, public, and not this server outside development."""
    urls = [*spec._urls(), ("website", spec.website), ("api_docs", spec.api_docs)]
    for key, url in urls:
        if not url:
            continue
        first = PLACEHOLDER_RE.match(url)
        if first and first.group(1) == "public_url":
            if not settings.ALLOW_LOCAL_PROVIDERS:
                raise refuse(key, "may not point at this server ({public_url})")
            url = settings.PUBLIC_URL + url[first.end():]
        elif first:  # a captured https origin, known at sign-in and checked at each call
            continue
        problem = endpoint_problem(PLACEHOLDER_RE.sub("x", url))
        if problem:
            raise refuse(key, problem)


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The top-level keys, and the keys of the tables within, whose values differ."""
    keys: list[str] = []
    for key in sorted({*old, *new}):
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            keys.extend(f"{key}.{sub}" for sub in sorted({*before, *after})
                        if before.get(sub) != after.get(sub))
        elif before != after:
            keys.append(key)
    return keys


def check_compatible(connector: Connector, stored: dict[str, Any]) -> None:
    """A change that would break the connector's installs is refused with the reason: its
    auth type, or a field installs hold (account-level or captured) removed or changed in
    kind. Anything else applies to new sign-ins and refreshes."""
    installs = connector.installs.count()
    if not installs:
        return
    new = ConnectorSpec.from_data(connector.slug, stored)
    if new.auth.type != connector.auth_type:
        raise refuse("auth.type", f"cannot change while {installs} install(s) use this "
                                  "connector")
    for held in (*connector.spec.account_fields, *connector.spec.captured_fields):
        now = new.field(held.key)
        if now is None or (now.level, now.secret) != (held.level, held.secret):
            raise refuse("fields", f"{held.key!r} is held by {installs} install(s): it must "
                                   "stay, with the same level and secrecy")


def _write(connector: Connector, stored: dict[str, Any]) -> None:
    for key, value in connector_columns(stored).items():
        setattr(connector, key, value)
    connector.save()
    connector.categories.set(Category.objects.filter(name__in=connector.category_names))
    Catalogue.changed()  # the cached library listings are rendered again


def create(*, partner: Partner, data: Any, actor: User | None,
           actor_label: str = "") -> Connector:
    """A new custom connector from a definition (the slug inside it), audited."""
    check_size(data)
    if not isinstance(data, dict):
        raise refuse(WHOLE, "must be an object (a table) of the catalogue format")
    slug = check_new_slug(partner, data.get(SLUG_KEY))
    stored = checked(partner, slug, with_discovered(data))
    try:
        with transaction.atomic():
            connector = Connector(owner=partner, slug=slug)
            _write(connector, stored)
            audit.record(audit.Action.CONNECTOR_CREATED, partner=partner, actor=actor,
                         actor_label=actor_label, connector=connector, slug=slug,
                         keys=sorted(stored))
    except IntegrityError:  # made at the same moment by another request
        raise refuse(SLUG_KEY, "is already one of your custom connectors") from None
    return connector


def update(*, connector: Connector, data: Any, actor: User | None,
           actor_label: str = "") -> Connector:
    """Replace a custom connector's definition (its slug stays), audited with the keys
    that changed; refused if it would break its installs."""
    partner = _owner(connector)
    check_size(data)
    if isinstance(data, dict) and data.get(SLUG_KEY, connector.slug) != connector.slug:
        raise refuse(SLUG_KEY, "cannot change: it names the connector's installs and URLs")
    if isinstance(data, dict):
        data = with_discovered(data)
    stored = checked(partner, connector.slug, data)
    with transaction.atomic():
        locked = Connector.objects.select_for_update().get(pk=connector.pk)
        check_compatible(locked, stored)
        keys = changed_keys(locked.spec_data, stored)
        if keys:
            retired_at = locked.retired_at
            _write(locked, stored)
            if retired_at is not None:  # editing does not bring a retired one back
                locked.retired_at = retired_at
                locked.save(update_fields=["retired_at"])
            audit.record(audit.Action.CONNECTOR_UPDATED, partner=partner, actor=actor,
                         actor_label=actor_label, connector=locked, slug=locked.slug, keys=keys)
    return locked


def merged(connector: Connector, patch: dict[str, Any]) -> dict[str, Any]:
    """A PATCH: the stored definition with the top-level keys given replaced; a table
    (`auth`, `api`, `guide`) is merged one level down."""
    data = dict(connector.spec_data)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def retire(*, connector: Connector, actor: User | None, actor_label: str = "") -> Connector:
    """Hide it from the library and from new installs; its installs keep working."""
    partner = _owner(connector)
    if connector.retired_at is None:
        with transaction.atomic():
            connector.retired_at = timezone.now()
            connector.save(update_fields=["retired_at", "synced_at"])
            Catalogue.changed()
            audit.record(audit.Action.CONNECTOR_RETIRED, partner=partner, actor=actor,
                         actor_label=actor_label, connector=connector, slug=connector.slug)
    return connector


def restore(*, connector: Connector, actor: User | None, actor_label: str = "") -> Connector:
    """Offer a retired custom connector again."""
    partner = _owner(connector)
    if connector.retired_at is not None:
        with transaction.atomic():
            connector.retired_at = None
            connector.save(update_fields=["retired_at", "synced_at"])
            Catalogue.changed()
            audit.record(audit.Action.CONNECTOR_UPDATED, partner=partner, actor=actor,
                         actor_label=actor_label, connector=connector, slug=connector.slug,
                         keys=["retired"])
    return connector


def delete(*, connector: Connector, actor: User | None, actor_label: str = "") -> None:
    """Delete a custom connector without installs (InUse otherwise), with its
    Authentication Settings; the audit log keeps its slug."""
    partner = _owner(connector)
    with transaction.atomic():
        locked = Connector.objects.select_for_update().get(pk=connector.pk)
        installs = locked.installs.count()
        if installs:
            raise InUse(installs)
        audit.record(audit.Action.CONNECTOR_DELETED, partner=partner, actor=actor,
                     actor_label=actor_label, slug=locked.slug, name=locked.name)
        locked.partner_settings.all().delete()
        try:
            locked.delete()
        except ProtectedError:  # its deleted installs' token revocations are still pending
            raise InUse(0, "Token revocations of its deleted installs are still pending: "
                           "retire it, or delete it once they are done.") from None
        partner.auth_settings_changed()
        Catalogue.changed()


def _owner(connector: Connector) -> Partner:
    if connector.owner is None:
        raise PermissionError("Catalogue connectors are changed in connectors/catalog/.")
    return connector.owner


def definition_of(connector: Connector) -> dict[str, Any]:
    """The stored definition with its slug: what the API answers and the edit form shows."""
    return {SLUG_KEY: connector.slug, **connector.spec_data}
