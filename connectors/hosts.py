"""URLs people type, checked in one place: the rules, their messages, and the few real
differences between where they are typed, as parameters.

- `kind = "base_url"` (the full https URL of the customer's own server: self-managed
  GitLab, Jira Data Center, WooCommerce, Mastodon) -- checked where it is entered (the
  install form, the Authentication Settings, the partner API and imports) by
  `entry_problem`, and again whenever it goes into a URL (connectors/templating.py) by
  `is_acceptable`; its host must resolve, to public addresses only;
- `kind = "server_url"` (an MCP server's URL, installs/forms.py) by `server_url_problem`:
  no name looked up where it is entered (discovery calls it at once, through the guard);
- a custom connector's endpoints (connectors/custom.py) by `endpoint_problem`: a query is
  allowed, and a name that does not resolve yet is accepted.

The rules (`form_problem`, then `address_problem`):

- `https://` only (http too for a local provider, where the settings allow them and the
  place says so), a host name (or an address), an optional port and path; no user name or
  password, query or fragment, no whitespace or control character;
- the host matches the field's `allowed_hosts` RE2 pattern (anchored), when declared;
- an address written as one, or a name looked up, must be public: in production no
  private, loopback or link-local address. Every request is checked again by the
  outbound guard, which connects to the address it checked (connectors/http.py), so a
  name that later resolves to a private address is refused then too, as is a redirect to
  one.

A stored base URL has no trailing slash, so `{base_url}/api/v4` never doubles it.
Messages never quote the value.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from connectors.http import UnsafeURL, check_url, is_literal, is_local, resolves
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

#: When a host name is looked up: always (it must resolve), when it resolves, or never.
Lookup = Literal["always", "if_found", "never"]


def normalized(value: str) -> str:
    """The value as stored: trimmed, the scheme and host lower-case, no trailing slash."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.netloc:
        return value
    return f"https://{parts.netloc.lower()}{parts.path}".rstrip("/")


def form_problem(value: str, *, allowed_hosts: str = "", query: bool = False,
                 local_http: bool = False) -> str:
    """Why `value` is not a well-formed URL of a server ('' when it is), without looking
    anything up. `query`: a query string is allowed (a custom connector's endpoint);
    `local_http`: http:// too for a local provider the settings allow."""
    if len(value) > MAX_LENGTH or _UNSAFE_RE.search(value):
        return NOT_A_URL
    try:
        parts = urlsplit(value)
    except ValueError:
        return NOT_A_URL
    host = (parts.hostname or "").lower()
    local = local_http and value.lower().startswith("http://") and is_local("http", host)
    if not (value.lower().startswith("https://") or local):
        return NOT_HTTPS
    try:
        port = parts.port
    except ValueError:
        return NOT_A_URL
    if "@" in parts.netloc:
        return HAS_USERINFO
    if parts.fragment or "#" in value or not query and (parts.query or "?" in value):
        return HAS_EXTRAS
    if parts.hostname and parts.netloc.startswith("["):
        host = f"[{host}]"
    if not _HOST_RE.match(host) or port == 0:
        return NOT_A_URL
    if allowed_hosts and not fullmatches(allowed_hosts, host.strip("[]")):
        return NOT_ALLOWED
    return ""


def address_problem(value: str, *, lookup: Lookup) -> str:
    """Why the server at a well-formed `value` may not be called ('' when it may): an
    address written as one must be public, and so must a host name's addresses when it is
    looked up (unless local providers are allowed in development or the sandbox)."""
    host = (urlsplit(value).hostname or "").rstrip(".")
    if lookup == "always" or is_literal(host) or lookup == "if_found" and resolves(host):
        return reachable(value)
    return ""


def reachable(value: str) -> str:
    """Why the server may not be called ('' when it may): its host must resolve to public
    addresses only (unless local providers are allowed in development or the sandbox)."""
    try:
        check_url(value)
    except UnsafeURL:
        return NOT_PUBLIC
    return ""


# --- where URLs are typed ----------------------------------------------------------------


def problem(spec_field: FieldSpec, value: str) -> str:
    """Why `value` is not an acceptable base URL for this field ('' when it is), without
    looking the host up (see `entry_problem`)."""
    return form_problem(value, allowed_hosts=spec_field.allowed_hosts)


def is_acceptable(spec_field: FieldSpec, value: str) -> bool:
    """Whether `value` may start a URL: acceptable and already in its stored form."""
    return not problem(spec_field, value) and value == normalized(value)


def entry_problem(spec_field: FieldSpec, value: str) -> str:
    """Everything checked where a base URL is entered: its form, then its address."""
    return problem(spec_field, value) or address_problem(normalized(value), lookup="always")


def server_url_problem(value: str) -> str:
    """Why an entered MCP server URL is refused ('' when it is not), without a network
    call: a host name is checked, and its address pinned, at every call."""
    return form_problem(value, local_http=True) or address_problem(value, lookup="never")


def endpoint_problem(url: str) -> str:
    """Why a custom connector's endpoint is refused ('' when it is not): a query is
    allowed, and a host name that does not resolve now is accepted -- every request
    checks its URL again when it is made."""
    return form_problem(url, query=True, local_http=True) or address_problem(
        url, lookup="if_found")
