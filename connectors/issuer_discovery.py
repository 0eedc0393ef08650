"""A custom connector's "Discover from an issuer URL" (console) and `"auth": {"issuer": …}`
without endpoints (API): the issuer's authorization server metadata, found and checked by
connectors/discovery.py (RFC 8414 with the path inserted, then OpenID Connect discovery;
the metadata's issuer must match; every fetch through the SSRF guard), as catalogue
`[auth]` keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from connectors.discovery import DiscoveryError, ServerMetadata, discover_authorization_server
from connectors.schema import SCOPE_TOKEN_RE

__all__ = ["MAX_DISCOVERED_SCOPES", "Discovered", "DiscoveryError", "as_template", "auth_from",
           "discover", "token_auth"]

MAX_DISCOVERED_SCOPES = 100


@dataclass(frozen=True)
class Discovered:
    """What the metadata gave, as catalogue `[auth]` keys."""

    auth: dict[str, Any]


def discover(issuer: str, *, sign_in: bool = True) -> Discovered:
    """The `[auth]` keys the issuer's metadata gives, or DiscoveryError. `sign_in=False`
    (client credentials) asks for no authorization endpoint."""
    return Discovered(auth_from(discover_authorization_server(issuer, sign_in=sign_in)))


def as_template(url: str) -> str:
    """A URL on this very server (the sandbox) as the catalogue writes it: `{public_url}`."""
    if settings.ALLOW_LOCAL_PROVIDERS and url.startswith(f"{settings.PUBLIC_URL}/"):
        return "{public_url}" + url[len(settings.PUBLIC_URL):]
    return url


def token_auth(methods: tuple[str, ...]) -> str:
    """The token endpoint's client authentication: RFC 8414 §2's default is
    client_secret_basic; client_secret_post when only that is listed."""
    if "client_secret_basic" not in methods and "client_secret_post" in methods:
        return "client_secret_post"
    return "client_secret_basic"


def auth_from(metadata: ServerMetadata) -> dict[str, Any]:
    """The catalogue `[auth]` keys of checked metadata (empty ones left out)."""
    tokens = [s for s in metadata.scopes_supported if SCOPE_TOKEN_RE.match(s)]
    auth: dict[str, Any] = {
        "authorize_url": as_template(metadata.authorization_endpoint),
        "token_url": as_template(metadata.token_endpoint),
        "token_auth": token_auth(metadata.token_endpoint_auth_methods),
        "issuer": as_template(metadata.issuer),
        "revoke_url": as_template(metadata.revocation_endpoint),
        "pkce": "S256" in metadata.code_challenge_methods,
    }
    if tokens:
        auth["optional_scopes"] = [{"scope": s, "description": s}
                                   for s in dict.fromkeys(tokens)][:MAX_DISCOVERED_SCOPES]
    return {key: value for key, value in auth.items() if value != ""}
