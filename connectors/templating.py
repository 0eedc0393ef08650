"""Filling `{key}` placeholders in catalogue URLs with validated values.

Catalogue URLs may reference field values (`https://{subdomain}.zendesk.com/oauth/tokens`)
and `{public_url}` (this server's external base URL, for the sandbox entries). A value
goes into a URL only when it is a plain host label -- letters, digits and inner hyphens,
at most 63 characters -- so no value can add a path, a port, a user name or another host.
Two kinds of field are trusted further, on their own terms:

- a select (`choices`): only one of the catalogue's own mapped values, which may be a host
  name (`api.eu.mailgun.net`);
- a field with `kind = "base_url"` (connectors/hosts.py): at the start of a URL only, an
  https URL of the customer's own server, checked again on every use;
- a captured value whose pattern anchors an https host (see `patterns.anchors_https_host`):
  at the start of a URL only, it must match that pattern and be a bare `https://host`
  origin (no user name, port, path, query or fragment), so it stays on the provider's domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from django.conf import settings

from connectors import hosts
from connectors.patterns import fullmatches
from connectors.schema import PLACEHOLDER_RE, URL_KEYS, ConnectorSpec, FieldSpec

HOST_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE | re.ASCII)
ORIGIN_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$", re.ASCII)
HOST_LABEL_MESSAGE = ("Enter a plain name: letters, digits and hyphens only "
                      "(no dots, slashes or spaces).")


class TemplateValueError(ValueError):
    """A placeholder has no value or an unsafe one. The message names the key, never the value."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def is_host_label(value: str) -> bool:
    # fullmatch: `$` alone would accept a trailing newline.
    return bool(HOST_LABEL_RE.fullmatch(value))


def placeholders(template: str) -> set[str]:
    """The field keys a URL template refers to (`public_url` excluded)."""
    return {name for name in PLACEHOLDER_RE.findall(template) if name != "public_url"}


def spec_urls(spec: ConnectorSpec) -> Iterable[str]:
    """Every URL template the connector has: its `[auth]` endpoints and `api.base_url`."""
    urls = (*(getattr(spec.auth, key) for key in URL_KEYS), spec.api.base_url)
    return (url for url in urls if url)


def url_keys(spec: ConnectorSpec) -> set[str]:
    """Keys of the fields whose values end up in one of the connector's URLs."""
    return {key for url in spec_urls(spec) for key in placeholders(url)}


def is_bare_origin(value: str) -> bool:
    """`https://host` and nothing else: no user name, port, path, query or fragment."""
    if not value.startswith("https://"):
        return False
    parts = urlsplit(value)
    return (parts.netloc == parts.hostname and not parts.path and not parts.query
            and not parts.fragment and "#" not in value and "?" not in value
            and bool(ORIGIN_HOST_RE.fullmatch(parts.netloc)))


def matches_pattern(field: FieldSpec, value: str) -> bool:
    return not field.pattern or fullmatches(field.pattern, value)


def is_safe_value(field: FieldSpec | None, value: str, *, at_start: bool = False) -> bool:
    """Whether `value` may fill this field's placeholder (see the module docstring)."""
    if field is not None and field.choices:
        return value in field.choices.values()
    if field is not None and field.is_captured and not matches_pattern(field, value):
        return False
    if field is not None and field.is_origin:
        return at_start and is_bare_origin(value)
    if field is not None and field.is_base_url:  # a customer-typed server (connectors/hosts.py)
        return at_start and hosts.is_acceptable(field, value)
    return is_host_label(value)


def render_url(template: str, values: Mapping[str, str],
               fields: Sequence[FieldSpec] = ()) -> str:
    """`template` with every placeholder filled; raises TemplateValueError on a bad value."""
    by_key = {f.key: f for f in fields}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "public_url":
            return settings.PUBLIC_URL
        value = str(values.get(key) or "")
        if not value:
            raise TemplateValueError(key, f"The value for “{key}” is missing.")
        field = by_key.get(key)
        if not is_safe_value(field, value, at_start=match.start() == 0):
            plain = field is None or not (field.choices or field.is_captured
                                          or field.is_base_url)
            reason = "is not a plain name" if plain else "is not one this connector accepts"
            raise TemplateValueError(key, f"The value for “{key}” {reason}.")
        return value

    return PLACEHOLDER_RE.sub(fill, template)
