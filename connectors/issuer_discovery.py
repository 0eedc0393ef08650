"""Discovering an OAuth 2.0 authorization server from its issuer URL, for a custom
connector's "Discover from an issuer URL" (console) and `"auth": {"issuer": …}` without
endpoints (API).

Tried in order, each through connectors/http.py (SSRF guard, deadline):
- RFC 8414 §3: `/.well-known/oauth-authorization-server` inserted between the host and
  the issuer's path (`https://a.example/tenant` -> `https://a.example/.well-known/
  oauth-authorization-server/tenant`);
- OpenID Connect Discovery 1.0 §4: `/.well-known/openid-configuration` appended to the
  issuer (and, as RFC 8414 §5 allows, inserted like the above).
The metadata's `issuer` must equal the issuer asked for (RFC 8414 §3.3, OIDC Discovery
§4.3): otherwise another server could name itself.

A focused module for custom connectors; the catalogue's own discovery may come to share it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings

from connectors import http
from connectors.schema import SCOPE_TOKEN_RE

MAX_METADATA_BYTES = 256 * 1024
MAX_DISCOVERED_SCOPES = 100


class DiscoveryError(ValueError):
    """The issuer's metadata could not be fetched or is not usable; a safe message."""


@dataclass(frozen=True)
class Discovered:
    """What the metadata gave, as catalogue `[auth]` keys."""

    auth: dict[str, Any]


def metadata_urls(issuer: str) -> list[str]:
    """The well-known URLs to try for `issuer`, RFC 8414's first."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(path_: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, path_, "", ""))

    urls = [at(f"/.well-known/oauth-authorization-server{path}"),
            at(f"{path}/.well-known/openid-configuration")]
    if path:
        urls.append(at(f"/.well-known/openid-configuration{path}"))
    return urls


def check_issuer(issuer: str) -> None:
    parts = urlsplit(issuer)
    if parts.query or parts.fragment:
        raise DiscoveryError("The issuer URL must have no query or fragment (RFC 8414 §2).")
    try:
        http.check_url(issuer)
    except http.UnsafeURL as error:
        raise DiscoveryError(str(error)) from None


def fetch_json(url: str) -> dict[str, Any] | None:
    """The JSON object at `url`, or None when it is not there (any non-200 answer)."""
    try:
        with http.Session() as session:
            response = session.get(url, timeout=settings.OUTBOUND_TIMEOUT, stream=True,
                                   headers={"Accept": "application/json"})
            try:
                if response.status_code != 200:
                    return None
                body = _read_capped(response)
            finally:
                response.close()
    except http.UnsafeURL as error:
        raise DiscoveryError(str(error)) from None
    except requests.RequestException:
        raise DiscoveryError("The issuer's metadata could not be fetched.") from None
    if len(body) > MAX_METADATA_BYTES:
        raise DiscoveryError("The issuer's metadata is too large.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _read_capped(response: requests.Response) -> bytes:
    """At most MAX_METADATA_BYTES + 1 bytes of the body (one more tells it is too large)."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=16384):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_METADATA_BYTES:
            break
    return b"".join(chunks)


def discover(issuer: str) -> Discovered:
    """The `[auth]` keys the issuer's metadata gives, or DiscoveryError."""
    check_issuer(issuer)
    for url in metadata_urls(issuer):
        metadata = fetch_json(url)
        if metadata is not None:
            return Discovered(auth_from(issuer, metadata))
    raise DiscoveryError("No authorization server metadata was found for this issuer "
                         "(RFC 8414 or OpenID Connect discovery).")


def _endpoint(metadata: dict[str, Any], name: str) -> str:
    value = metadata.get(name, "")
    if not isinstance(value, str):
        raise DiscoveryError(f"The metadata's {name} is not a URL.")
    return as_template(value)


def as_template(url: str) -> str:
    """A URL on this very server (the sandbox) as the catalogue writes it: `{public_url}`."""
    if settings.ALLOW_LOCAL_PROVIDERS and url.startswith(f"{settings.PUBLIC_URL}/"):
        return "{public_url}" + url[len(settings.PUBLIC_URL):]
    return url


def token_auth(metadata: dict[str, Any]) -> str:
    """The token endpoint's client authentication: RFC 8414 §2's default is
    client_secret_basic; client_secret_post when only that is listed."""
    methods = metadata.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list) and "client_secret_basic" not in methods \
            and "client_secret_post" in methods:
        return "client_secret_post"
    return "client_secret_basic"


def auth_from(issuer: str, metadata: dict[str, Any]) -> dict[str, Any]:
    if metadata.get("issuer") != issuer:
        raise DiscoveryError("The metadata names another issuer (RFC 8414 §3.3): refused.")
    auth: dict[str, Any] = {
        "authorize_url": _endpoint(metadata, "authorization_endpoint"),
        "token_url": _endpoint(metadata, "token_endpoint"),
        "token_auth": token_auth(metadata),
        "issuer": as_template(issuer),
    }
    revoke = _endpoint(metadata, "revocation_endpoint")
    if revoke:
        auth["revoke_url"] = revoke
    methods = metadata.get("code_challenge_methods_supported")
    auth["pkce"] = isinstance(methods, list) and "S256" in methods
    scopes = metadata.get("scopes_supported")
    if isinstance(scopes, list):
        tokens = [s for s in scopes if isinstance(s, str) and SCOPE_TOKEN_RE.match(s)]
        auth["optional_scopes"] = [{"scope": s, "description": s}
                                   for s in dict.fromkeys(tokens)][:MAX_DISCOVERED_SCOPES]
    return {key: value for key, value in auth.items() if value != ""}
