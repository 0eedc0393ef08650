"""Hosts the customer types: a field with `kind = "base_url"` holds the full https URL of
the customer's own server (self-managed GitLab, Jira Data Center, WooCommerce, Mastodon).

Such a value is checked where it is entered (the install form, the Authentication
Settings, the partner API and imports) and again whenever it goes into a URL
(connectors/templating.py):

- `https://` only, a host name (or an address), an optional port and path; no user name
  or password, query or fragment, no whitespace or control character;
- the host matches the field's `allowed_hosts` RE2 pattern (anchored), when declared;
- where entered, the host resolves to public internet addresses only (`reachable`): in
  production no private, loopback or link-local address. Every request is checked again by
  the outbound guard, which connects to the address it checked (connectors/http.py), so a
  name that later resolves to a private address is refused then too, as is a redirect to
  one.

The stored value has no trailing slash, so `{base_url}/api/v4` never doubles it. Messages
never quote the value.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from connectors.http import UnsafeURL, check_url
from connectors.patterns import fullmatches
from connectors.schema import FieldSpec

MAX_LENGTH = 500
# No whitespace, control character, backslash or quote: nothing a URL parser reads twice.
_UNSAFE_RE = re.compile(r"[\x00-\x20\x7f\\\"'<>`{}|^]")
_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$|^\[[0-9a-f:.]+\]$", re.ASCII)

NOT_HTTPS = "Enter the server's full address starting with https://."
HAS_USERINFO = "Enter the address without a user name or password."
HAS_EXTRAS = "Enter the address without a query (?…) or fragment (#…)."
NOT_A_URL = "Enter a valid address, such as https://git.example.com."
NOT_ALLOWED = "This connector does not accept a server at that host."
NOT_PUBLIC = ("This server is not on a public internet address: private, loopback and "
              "link-local addresses are refused.")


def normalized(value: str) -> str:
    """The value as stored: trimmed, the scheme and host lower-case, no trailing slash."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.netloc:
        return value
    return f"https://{parts.netloc.lower()}{parts.path}".rstrip("/")


def problem(spec_field: FieldSpec, value: str) -> str:
    """Why `value` is not an acceptable base URL for this field ('' when it is), without
    looking the host up (see `reachable`)."""
    if len(value) > MAX_LENGTH or _UNSAFE_RE.search(value):
        return NOT_A_URL
    if not value.lower().startswith("https://"):
        return NOT_HTTPS
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return NOT_A_URL
    if "@" in parts.netloc:
        return HAS_USERINFO
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return HAS_EXTRAS
    host = (parts.hostname or "").lower()
    if parts.hostname and parts.netloc.startswith("["):
        host = f"[{host}]"
    if not _HOST_RE.match(host) or port == 0:
        return NOT_A_URL
    if spec_field.allowed_hosts and not fullmatches(spec_field.allowed_hosts,
                                                    host.strip("[]")):
        return NOT_ALLOWED
    return ""


def is_acceptable(spec_field: FieldSpec, value: str) -> bool:
    """Whether `value` may start a URL: acceptable and already in its stored form."""
    return not problem(spec_field, value) and value == normalized(value)


def reachable(value: str) -> str:
    """Why the server may not be called ('' when it may): its host must resolve to public
    addresses only (unless local providers are allowed in development or the sandbox)."""
    try:
        check_url(value)
    except UnsafeURL:
        return NOT_PUBLIC
    return ""


def entry_problem(spec_field: FieldSpec, value: str) -> str:
    """Everything checked where a base URL is entered: its form, then its address."""
    return problem(spec_field, value) or reachable(normalized(value))
