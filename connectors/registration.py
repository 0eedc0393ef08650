"""OAuth 2.0 Dynamic Client Registration (RFC 7591): a client registered at an
authorization server's `registration_endpoint`, so the partner needs no OAuth app of its own.

Pure: no database (connectors/dynamic.py stores the client, encrypted). The request goes
through connectors/http.py and, as its answer carries a client secret, is never
redirected. Failures are `DiscoveryError`s with messages safe to show: the server's error
code at most (RFC 7591 §3.2.2), never its description or the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests

from connectors import http
from connectors.discovery import DiscoveryError, ServerMetadata, fetching, read_bounded
from connectors.schema import ERROR_CODE_RE

#: Token endpoint client authentication, best first (RFC 7591 §2): a confidential client
#: when the server lets it be one, else a public client (PKCE only).
AUTH_METHOD_PREFERENCE = ("client_secret_basic", "client_secret_post", "none")
#: The authorization server of an MCP server (found by its RFC 9728 metadata): the body
#: first. The `mcp` SDK's authorization server offers HTTP Basic but takes it at its token
#: endpoint only with `client_id` in the body too, and refuses it at its revocation
#: endpoint (its RevocationRequest requires a `client_secret` form field), while
#: client_secret_post works throughout: tests/interop/test_mcp_sdk.py.
MCP_AUTH_METHOD_PREFERENCE = ("client_secret_post", "client_secret_basic", "none")
MAX_CLIENT_VALUE = 500


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str
    token_endpoint_auth_method: str


def chosen_auth_method(metadata: ServerMetadata,
                       preference: tuple[str, ...] = AUTH_METHOD_PREFERENCE) -> str:
    """The token endpoint auth method to ask for: the first of ours the server offers."""
    offered = metadata.token_endpoint_auth_methods
    for method in preference:
        if method in offered:
            return method
    raise DiscoveryError("The authorization server offers no client authentication this "
                         "server supports (client_secret_basic, client_secret_post or none).")


def register_client(metadata: ServerMetadata, *, redirect_uri: str, client_name: str,
                    scope: str = "",
                    preference: tuple[str, ...] = AUTH_METHOD_PREFERENCE) -> RegisteredClient:
    """Register an authorization code client (PKCE, the callback URL) at the server, with
    the first client authentication of `preference` it offers."""
    if not metadata.registration_endpoint:
        raise DiscoveryError("The authorization server offers no dynamic client "
                             "registration (RFC 7591).")
    method = chosen_auth_method(metadata, preference)
    body = {"redirect_uris": [redirect_uri], "client_name": client_name[:100],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "token_endpoint_auth_method": method,
            **({"scope": scope} if scope else {})}
    what = "The authorization server's registration endpoint"
    with fetching(what), http.Session() as session, session.secret_bearing():
        response = session.post(metadata.registration_endpoint, json=body, stream=True,
                                headers={"Accept": "application/json"})
        try:
            content = read_bounded(response)
        finally:
            response.close()
    return registered(response, content, method)


def registered(response: requests.Response, content: bytes, method: str) -> RegisteredClient:
    status = response.status_code
    answer = _json(content)
    if status == 429 or status >= 500:
        raise DiscoveryError(f"The authorization server's registration endpoint is "
                             f"unavailable (HTTP {status}); try again later.", transient=True)
    if status not in (200, 201):
        code = answer.get("error") if answer else None
        code = code if isinstance(code, str) and ERROR_CODE_RE.match(code) else f"HTTP {status}"
        raise DiscoveryError(f"The authorization server refused to register a client ({code}).")
    if answer is None:
        raise DiscoveryError("The authorization server's registration answer could not be read.")
    client_id, secret = answer.get("client_id"), answer.get("client_secret") or ""
    chosen = str(answer.get("token_endpoint_auth_method") or method)
    if not _usable(client_id) or (secret and not _usable(secret)):
        raise DiscoveryError("The authorization server's registration answer had no usable "
                             "client_id.")
    if chosen not in AUTH_METHOD_PREFERENCE or (chosen != "none" and not secret):
        raise DiscoveryError("The authorization server registered a client this server "
                             "cannot authenticate as.")
    return RegisteredClient(client_id=str(client_id), client_secret=str(secret),
                            token_endpoint_auth_method=chosen)


def _json(content: bytes) -> dict[str, object] | None:
    try:
        answer = json.loads(content)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _usable(value: object) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_VALUE
            and value.isprintable() and value.strip() == value)
