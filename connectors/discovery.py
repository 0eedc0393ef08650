"""Finding an OAuth 2.0 authorization server from its issuer, and a protected resource's
authorization server, over connectors/http.py (SSRF guard, pinned address, deadline).

- RFC 8414 (OAuth 2.0 Authorization Server Metadata): `/.well-known/oauth-authorization-server`
  inserted between the issuer's host and path; then OpenID Connect Discovery 1.0
  (`<issuer>/.well-known/openid-configuration`). The document's `issuer` must be the issuer
  asked for, character for character (RFC 8414 §3.3), else it is refused (a server speaking
  for another one).
- RFC 9728 (OAuth 2.0 Protected Resource Metadata): `/.well-known/oauth-protected-resource`
  inserted the same way; when that is not found, the `resource_metadata` URL a 401's
  `WWW-Authenticate` names (RFC 9728 §5.1, how MCP servers point at theirs). Its `resource`
  must be the URL asked for (§3.3) and each of its `authorization_servers` an address this
  server may call.

Pure: no database. Every failure is a `DiscoveryError` whose message is safe to show (no
body, no URL query); `transient` says whether trying later may help (5xx, 429, timeout).
The services that store what was found are in connectors/dynamic.py; a partner's custom
connector form may call `discover_authorization_server` directly.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from connectors import http

MAX_DOCUMENT = 64 * 1024
MAX_URL = 500
# RFC 9728 §5.1: WWW-Authenticate: Bearer resource_metadata="https://…"
RESOURCE_METADATA_RE = re.compile(r'resource_metadata="([^"]{1,500})"')


class DiscoveryError(Exception):
    """Discovery failed; the message is safe to show a person."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class ServerMetadata:
    """What Hatchway uses of an authorization server's metadata (RFC 8414 §2)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str = ""
    revocation_endpoint: str = ""
    token_endpoint_auth_methods: tuple[str, ...] = ("client_secret_basic",)
    code_challenge_methods: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    iss_parameter_supported: bool = False

    def as_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ServerMetadata:
        tuples = ("token_endpoint_auth_methods", "code_challenge_methods", "scopes_supported")
        kept: dict[str, Any] = {key: tuple(value) if key in tuples else value
                                for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**kept)


@dataclass(frozen=True)
class ResourceMetadata:
    """What Hatchway uses of a protected resource's metadata (RFC 9728 §2)."""

    resource: str
    authorization_servers: tuple[str, ...]
    scopes_supported: tuple[str, ...] = field(default_factory=tuple)


def well_known(url: str, suffix: str) -> str:
    """`https://host/.well-known/<suffix>/path`: the RFC 8414 §3.1 / RFC 9728 §3.1 form."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/{suffix}{path}"


def check_identifier(url: str, what: str) -> None:
    """An issuer or resource identifier: https (or an allowed local provider), no user name,
    query or fragment, at most MAX_URL characters, at an address this server may call."""
    parts = urlsplit(url)
    if (len(url) > MAX_URL or parts.query or parts.fragment or "#" in url
            or parts.username or parts.password or not parts.hostname):
        raise DiscoveryError(f"The {what} must be an https:// URL without a user name, "
                             "query or fragment.")
    try:
        http.check_url(url)
    except http.UnsafeURL:
        raise DiscoveryError(f"The {what} is at an address this server may not call "
                             "(it must be a public https:// address).") from None


SERVER_URL_MESSAGE = ("Enter the server's https:// URL, without a user name, query or "
                      "fragment, at a public address.")


def server_url_problem(value: str) -> str:
    """Why an entered server URL is refused ('' when it is not), without a network call:
    not https, a user name, a query or fragment, or a literal address that is not public
    (a host name is checked, and its address pinned, at every call: connectors/http.py)."""
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    local = settings.ALLOW_LOCAL_PROVIDERS and (host in http.LOCAL_HOSTS
                                                or host.endswith(".localhost"))
    if (len(value) > MAX_URL or not host or parts.username or parts.password or parts.query
            or parts.fragment or "#" in value or "?" in value
            or not (parts.scheme == "https" or local and parts.scheme == "http")):
        return SERVER_URL_MESSAGE
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return ""
    return "" if local or http.is_public(address) else SERVER_URL_MESSAGE


# --- RFC 8414 / OpenID Connect Discovery -------------------------------------------------


def discover_authorization_server(issuer: str) -> ServerMetadata:
    """The metadata of the authorization server `issuer` names (RFC 8414, then OIDC)."""
    check_identifier(issuer, "issuer")
    for url in (well_known(issuer, "oauth-authorization-server"),
                f"{issuer.rstrip('/')}/.well-known/openid-configuration"):
        document = fetch_document(url, "The authorization server's metadata")
        if document is not None:
            return server_metadata(document, issuer)
    raise DiscoveryError("The authorization server publishes no metadata (RFC 8414 or "
                         "OpenID Connect discovery) for this issuer.")


def server_metadata(document: dict[str, Any], issuer: str) -> ServerMetadata:
    """Checked metadata: the issuer asked for, https endpoints this server may call, and
    PKCE S256 when the server lists its challenge methods."""
    if document.get("issuer") != issuer:
        raise DiscoveryError("The authorization server's metadata names another issuer, so "
                             "it was not used.")
    endpoints = {key: _endpoint(document, key, required=key in (
        "authorization_endpoint", "token_endpoint"))
        for key in ("authorization_endpoint", "token_endpoint", "registration_endpoint",
                    "revocation_endpoint")}
    methods = _words(document, "code_challenge_methods_supported")
    if methods and "S256" not in methods:
        raise DiscoveryError("The authorization server does not offer PKCE with S256.")
    return ServerMetadata(
        issuer=issuer, **endpoints,
        token_endpoint_auth_methods=_words(document, "token_endpoint_auth_methods_supported")
        or ("client_secret_basic",),
        code_challenge_methods=methods,
        scopes_supported=_words(document, "scopes_supported"),
        iss_parameter_supported=document.get(
            "authorization_response_iss_parameter_supported") is True)


def _endpoint(document: dict[str, Any], key: str, *, required: bool) -> str:
    value = document.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise DiscoveryError(f"The authorization server's metadata has no usable {key}.")
    parts = urlsplit(value)
    if parts.fragment or parts.username or parts.password:
        raise DiscoveryError(f"The authorization server's {key} is not a usable URL.")
    try:
        http.check_url(value)
    except http.UnsafeURL:
        raise DiscoveryError(f"The authorization server's {key} is at an address this server "
                             "may not call.") from None
    return value


def _words(document: dict[str, Any], key: str) -> tuple[str, ...]:
    value = document.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and 0 < len(item) <= 200)


# --- RFC 9728 ----------------------------------------------------------------------------


def discover_protected_resource(resource: str) -> ResourceMetadata:
    """The metadata of the protected resource at `resource` (an MCP server's URL)."""
    check_identifier(resource, "server URL")
    document = fetch_document(well_known(resource, "oauth-protected-resource"),
                              "The server's protected resource metadata")
    if document is None:
        named = metadata_named_by_401(resource)
        if named:
            check_identifier(named, "resource metadata URL")
            document = fetch_document(named, "The server's protected resource metadata")
    if document is None:
        raise DiscoveryError("The server publishes no protected resource metadata (RFC 9728): "
                             "it may not be an MCP server that uses OAuth.")
    return resource_metadata(document, resource)


#: What an MCP client sends first (without a token, the server answers 401).
PROBE = {"jsonrpc": "2.0", "id": 0, "method": "ping"}


def metadata_named_by_401(resource: str) -> str:
    """The `resource_metadata` URL in the WWW-Authenticate of the resource's 401 to a
    request without a token: a GET, else (a server that takes only POSTs, 405) a JSON-RPC
    POST as an MCP client sends; '' when neither is answered so."""
    accept = {"Accept": "application/json, text/event-stream"}
    with fetching("The server"), http.Session() as session, session.secret_bearing():
        for send in ({"method": "GET"}, {"method": "POST", "json": PROBE}):
            response = session.request(url=resource, headers=accept, stream=True, **send)
            response.close()
            if response.status_code == 401:
                match = RESOURCE_METADATA_RE.search(
                    response.headers.get("WWW-Authenticate", ""))
                return match.group(1) if match else ""
    return ""


def resource_metadata(document: dict[str, Any], resource: str) -> ResourceMetadata:
    if str(document.get("resource", "")).rstrip("/") != resource.rstrip("/"):
        raise DiscoveryError("The server's protected resource metadata names another "
                             "resource, so it was not used.")
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(
            isinstance(s, str) and s for s in servers):
        raise DiscoveryError("The server's protected resource metadata names no "
                             "authorization server.")
    for server in servers:
        try:
            check_identifier(server, "authorization server")
        except DiscoveryError:
            raise DiscoveryError("The server's protected resource metadata names an "
                                 "authorization server at an address this server may not "
                                 "call (it must be a public https:// address).") from None
    return ResourceMetadata(resource=resource, authorization_servers=tuple(servers),
                            scopes_supported=_words(document, "scopes_supported"))


# --- fetching ----------------------------------------------------------------------------


@contextmanager
def fetching(what: str) -> Iterator[None]:
    """Transport failures as DiscoveryErrors naming `what` (never a URL or a body)."""
    try:
        yield
    except http.UnsafeURL:
        raise DiscoveryError(f"{what} is at an address this server may not call.") from None
    except http.RedirectRefused:
        raise DiscoveryError(f"{what} answered with a redirect, which is not followed.") from None
    except requests.Timeout:
        raise DiscoveryError(f"{what} did not answer in time; try again later.",
                             transient=True) from None
    except requests.RequestException:
        raise DiscoveryError(f"{what} could not be reached; try again later.",
                             transient=True) from None


def fetch_document(url: str, what: str) -> dict[str, Any] | None:
    """A JSON object from `url`; None when it is not there (404, 410). No redirects: a
    metadata document is served at its well-known URL (RFC 8414 §3)."""
    with fetching(what), http.Session() as session, session.secret_bearing():
        response = session.get(url, headers={"Accept": "application/json"}, stream=True)
        try:
            status = response.status_code
            body = b"" if status != 200 else read_bounded(response)
        finally:
            response.close()
    if status in (404, 410):
        return None
    if status == 429 or status >= 500:
        raise DiscoveryError(f"{what} is unavailable (HTTP {status}); try again later.",
                             transient=True)
    if status != 200:
        raise DiscoveryError(f"{what} could not be fetched (HTTP {status}).")
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise DiscoveryError(f"{what} is not a JSON object, so it was not used.")
    return document


def read_bounded(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(8192):
        body += chunk
        if len(body) > MAX_DOCUMENT:
            raise DiscoveryError("The metadata document is larger than this server reads.")
    return bytes(body)
