"""Origins and return URLs: parsing, canonical form and allowlist checks.

An origin is `scheme://host[:port]`, compared exactly (scheme, host and port). Every
origin a header (CSP `frame-ancestors`) or a redirect is built from has been through
`normalise_origin`; plain http is for loopback hosts, and only where local providers are
allowed (DEBUG or the sandbox).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme

#: Hosts that are this machine: allowed over http only for local development and tests.
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}
MAX_ORIGINS = 20

HOST_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])$"
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def local_http_allowed(host: str) -> bool:
    """Plain http is for local development and the sandbox only, and only on loopback."""
    return settings.ALLOW_LOCAL_PROVIDERS and (host in LOCAL_HOSTS or host.endswith(".localhost"))


def _origin_of(scheme: str, host: str, port: int | None) -> str:
    port_part = f":{port}" if port and port != DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{host}{port_part}"


def normalise_origin(text: str) -> str:
    """`scheme://host[:port]` in canonical form, or ValidationError naming the problem."""
    text = text.strip()
    if not text or len(text) > 200 or any(c.isspace() or ord(c) < 32 for c in text):
        raise ValidationError(f"{text[:60]!r} is not an origin like https://app.example.com.")
    if text.endswith("/"):
        text = text[:-1]
    try:  # urlsplit itself raises on a malformed IPv6 host, .port on a bad port
        parts = urlsplit(text)
        port = parts.port
        if port == 0:  # not a port a browser connects to (and falsy: it would vanish)
            raise ValueError(port)
    except ValueError:
        raise ValidationError(f"{text[:60]!r} is not an origin like https://app.example.com."
                              ) from None
    host = (parts.hostname or "").lower()
    if ":" in host:  # urlsplit drops an IPv6 address's brackets
        host = f"[{host}]"
    if (parts.scheme not in ("https", "http") or not HOST_RE.match(host) or parts.path
            or parts.query or parts.fragment or "@" in parts.netloc or "\\" in text):
        raise ValidationError(f"{text[:60]!r} is not an origin like https://app.example.com "
                              "(no path, no user name).")
    if parts.scheme == "http" and not local_http_allowed(host):
        raise ValidationError(f"{text[:60]!r} must use https://.")
    return _origin_of(parts.scheme, host, port)


def parse_origins(text: str) -> list[str]:
    """One origin per line → canonical, de-duplicated list; every bad line is named."""
    origins: list[str] = []
    errors: list[ValidationError] = []
    for line in text.replace("\r", "").split("\n"):
        if not line.strip():
            continue
        try:
            origin = normalise_origin(line)
        except ValidationError as exc:
            errors.append(exc)
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        errors.append(ValidationError(f"At most {MAX_ORIGINS} origins."))
    if errors:
        raise ValidationError(errors)
    return origins


def parse_origin_list(value: Any) -> list[str]:
    """A JSON list of origins (the admin's form) → canonical list, like `parse_origins`.

    Anything but a list of strings is refused, and every item must be an origin.
    """
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('Enter a list of origins, like ["https://app.example.com"].')
    return parse_origins("\n".join(value))


def stored_origins(value: Any) -> list[str]:
    """The origins of a stored allowlist that still parse, canonical; the rest is dropped.

    Headers (CSP `frame-ancestors`) and return-URL checks read allowlists through this,
    so a row written past the forms cannot inject a directive or cause a 500.
    """
    if not isinstance(value, list):
        return []
    found: list[str] = []
    for item in value:
        try:
            origin = normalise_origin(item) if isinstance(item, str) else ""
        except ValidationError:
            continue
        if origin and origin not in found:
            found.append(origin)
    return found[:MAX_ORIGINS]


def return_url_origin(url: str) -> str | None:
    """The origin of an absolute, well-formed return URL, or None when it is anything else.

    `url_has_allowed_host_and_scheme` catches what browsers read differently from
    Python (`\\\\evil.com`, `https:evil.com`, control characters, `javascript:`); on
    top of it the URL must be absolute and without a user name.
    """
    if not isinstance(url, str) or not url or len(url) > 500:
        return None
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return None
    if parts.scheme not in ("https", "http") or not parts.netloc or "@" in parts.netloc:
        return None
    try:
        origin = normalise_origin(f"{parts.scheme}://{parts.netloc}")
    except ValidationError:
        return None
    require_https = not local_http_allowed((parts.hostname or "").lower())
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={parts.netloc},
                                           require_https=require_https):
        return None
    return origin


def is_allowed_return_url(url: str, allowed_origins: list[str]) -> bool:
    """The URL is absolute and its origin is exactly one of `allowed_origins`."""
    origin = return_url_origin(url)
    return origin is not None and origin in stored_origins(allowed_origins)


def validate_return_url(url: str, allowed_origins: list[str]) -> str:
    """The URL unchanged when allowed; ValidationError otherwise ('' passes: no return)."""
    if url == "":
        return url
    if not is_allowed_return_url(url, allowed_origins):
        raise ValidationError(
            "The return URL must be an https:// address on one of the allowed return URLs "
            "in Branding."
        )
    return url


def return_url_with_outcome(url: str, *, outcome: str, connector_slug: str) -> str:
    """The return URL with `status` and `connector` appended to its query (nothing else)."""
    parts = urlsplit(url)
    extra = urlencode({"status": outcome, "connector": connector_slug})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
