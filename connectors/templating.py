"""Filling `{key}` placeholders in catalogue URLs with validated values.

Catalogue URLs may reference field values (`https://{subdomain}.zendesk.com/oauth/tokens`)
and `{public_url}` (this server's external base URL, for the sandbox entries). A value
goes into a URL only when it is a plain host label -- letters, digits and inner hyphens,
at most 63 characters -- so no value can add a path, a port, a user name or another host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from django.conf import settings

from connectors.spec import PLACEHOLDER_RE, URL_KEYS, ConnectorSpec

HOST_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE | re.ASCII)
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
    urls = (*(getattr(spec.auth, key) for key in URL_KEYS), spec.api_base_url)
    return (url for url in urls if url)


def url_keys(spec: ConnectorSpec) -> set[str]:
    """Keys of the fields whose values end up in one of the connector's URLs."""
    return {key for url in spec_urls(spec) for key in placeholders(url)}


def render_url(template: str, values: Mapping[str, str]) -> str:
    """`template` with every placeholder filled; raises TemplateValueError on a bad value."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "public_url":
            return settings.PUBLIC_URL
        value = str(values.get(key) or "")
        if not value:
            raise TemplateValueError(key, f"The value for “{key}” is missing.")
        if not is_host_label(value):
            raise TemplateValueError(key, f"The value for “{key}” is not a plain name.")
        return value

    return PLACEHOLDER_RE.sub(fill, template)
