"""A real MCP server built with the `mcp` Python SDK (an implementation we did not write),
for tests/interop/test_mcp_sdk.py: `MCPServer` served over Streamable HTTP by uvicorn,
with the SDK's own auth pieces --

    GET  /.well-known/oauth-protected-resource/mcp  RFC 9728 metadata (the SDK's
                                                    `create_protected_resource_routes`)
    POST /mcp                                       the MCP endpoint behind the SDK's
                                                    `RequireAuthMiddleware`: 401 with
                                                    `WWW-Authenticate: Bearer ...
                                                    resource_metadata="..."` without a token
    GET  /.well-known/oauth-authorization-server    RFC 8414 metadata (`create_auth_routes`)
    POST /register                                  RFC 7591 (`RegistrationHandler`)
    GET  /authorize                                 `AuthorizationHandler` (PKCE required)
    POST /token                                     `TokenHandler` (PKCE checked, RFC 8707
                                                    `resource`, refresh)
    POST /revoke                                    RFC 7009 (`RevocationHandler`)

The SDK leaves the storage and the consent to the server (its
`OAuthAuthorizationServerProvider` protocol): `Provider` below keeps them in memory, and
its `authorize` sends the browser to a consent page (`/consent`, a custom route) that
answers the approval with a redirect to the client's callback, as a real server's does.
The SDK checks that a bearer token was issued for this very server
(`validate_token_resource`, RFC 8707).

`running_sdk_server(issuer=...)` serves it on 127.0.0.1 (a free port) in a thread; with
`issuer` the server is a resource server only, whose metadata names that authorization
server (for the refusals).
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    ProviderTokenVerifier,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_metadata
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

SCOPES = ["mcp:tools"]
ACCESS_LIFETIME = 3600


@dataclass
class Provider:
    """The SDK's `OAuthAuthorizationServerProvider`, in memory; what the tests look at."""

    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    pending: dict[str, tuple[str, AuthorizationParams]] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    issued: list[OAuthToken] = field(default_factory=list)  # in order
    revoked: set[str] = field(default_factory=set)  # access and refresh tokens
    authorize_params: list[AuthorizationParams] = field(default_factory=list)
    token_resources: list[str | None] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)  # the bearer token of each tools/list
    base: str = ""

    def reset(self) -> None:
        base = self.base
        self.__init__()  # type: ignore[misc]
        self.base = base

    # --- clients (RFC 7591) -------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id
        self.clients[client_info.client_id] = client_info

    # --- authorization: the consent page, then a code -----------------------------------

    async def authorize(self, client: OAuthClientInformationFull,
                        params: AuthorizationParams) -> str:
        self.authorize_params.append(params)
        request = secrets.token_urlsafe(16)
        self.pending[request] = (client.client_id or "", params)
        return f"{self.base}/consent?{urlencode({'request': request})}"

    def approve(self, request: str) -> str:
        """The resource owner approved: the code, and where the browser goes with it."""
        client_id, params = self.pending.pop(request)
        code = AuthorizationCode(
            code=secrets.token_urlsafe(32), scopes=params.scopes or SCOPES,
            expires_at=time.time() + 300, client_id=client_id,
            code_challenge=params.code_challenge, redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource, subject="ada")
        self.codes[code.code] = code
        return construct_redirect_uri(str(params.redirect_uri), code=code.code,
                                      state=params.state)

    async def load_authorization_code(self, client: OAuthClientInformationFull,
                                      authorization_code: str) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(self, client: OAuthClientInformationFull,
                                          authorization_code: AuthorizationCode) -> OAuthToken:
        self.codes.pop(authorization_code.code)
        self.token_resources.append(authorization_code.resource)
        return self._issue(client.client_id or "", authorization_code.scopes,
                           authorization_code.resource)

    # --- refresh and revocation --------------------------------------------------------

    async def load_refresh_token(self, client: OAuthClientInformationFull,
                                 refresh_token: str) -> RefreshToken | None:
        found = self.refresh.get(refresh_token)
        if found is None or found.client_id != client.client_id or refresh_token in self.revoked:
            return None
        return found

    async def exchange_refresh_token(self, client: OAuthClientInformationFull,
                                     refresh_token: RefreshToken,
                                     scopes: list[str]) -> OAuthToken:
        await asyncio.sleep(SWITCHES.token_delay)
        self.revoked.add(refresh_token.token)  # rotated
        self.token_resources.append(refresh_token.resource)
        return self._issue(client.client_id or "", scopes or refresh_token.scopes,
                           refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access.get(token)
        if found is None or token in self.revoked:
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        """Both tokens of the pair go, whichever is named (as the protocol asks)."""
        for issued in self.issued:
            if token.token in (issued.access_token, issued.refresh_token):
                self.revoked.update(t for t in (issued.access_token, issued.refresh_token) if t)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_at = int(time.time()) + ACCESS_LIFETIME
        self.access[access] = AccessToken(token=access, client_id=client_id, scopes=scopes,
                                          expires_at=expires_at, resource=resource,
                                          subject="ada")
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id,
                                             scopes=scopes, resource=resource, subject="ada")
        token = OAuthToken(access_token=access, token_type="Bearer",
                           expires_in=ACCESS_LIFETIME, scope=" ".join(scopes),
                           refresh_token=refresh)
        self.issued.append(token)
        return token


PROVIDER = Provider()


@dataclass
class Switches:
    """What the tests turn (reset between tests)."""

    well_known: bool = True  # False: the RFC 9728 well-known URL answers 404
    well_known_asked: int = 0
    basic_only: bool = False  # the RFC 8414 metadata offers client_secret_basic alone
    token_delay: float = 0.0  # seconds the refresh grant takes

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


SWITCHES = Switches()
WELL_KNOWN_PREFIX = "/.well-known/oauth-protected-resource"


def switched(app: Any, base: str) -> Any:
    """The SDK's app, as `SWITCHES` says: its RFC 9728 well-known route hidden while
    `well_known` is off (only the 401's WWW-Authenticate then names the metadata, at the
    same URL, which answers again once named: discovery asks the well-known URL first);
    its RFC 8414 metadata (the SDK's `build_metadata`) offering HTTP Basic alone while
    `basic_only` is on."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if (scope["type"] == "http" and SWITCHES.basic_only
                and scope["path"] == "/.well-known/oauth-authorization-server"):
            metadata = build_metadata(base, None,  # type: ignore[arg-type]
                                      ClientRegistrationOptions(enabled=True),
                                      RevocationOptions(enabled=True))
            document = metadata.model_dump(mode="json", exclude_none=True)
            document["token_endpoint_auth_methods_supported"] = ["client_secret_basic"]
            await JSONResponse(document)(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"].startswith(WELL_KNOWN_PREFIX):
            SWITCHES.well_known_asked += 1
            if not SWITCHES.well_known and SWITCHES.well_known_asked == 1:
                await Response(status_code=404)(scope, receive, send)
                return
        await app(scope, receive, send)

    return wrapped


def build_server(base: str, issuer: str | None) -> MCPServer:
    """The MCP server at `base` (its endpoint `base`/mcp). Without `issuer` it is its own
    authorization server (dynamic registration and revocation on)."""
    auth = AuthSettings(
        issuer_url=issuer or base,  # type: ignore[arg-type]  # a str keeps its form (no "/")
        resource_server_url=f"{base}/mcp",  # type: ignore[arg-type]
        validate_token_resource=True,  # tokens must be issued for this very server
        required_scopes=SCOPES,
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=SCOPES, default_scopes=SCOPES),
        revocation_options=RevocationOptions(enabled=True))
    root = logging.getLogger()  # MCPServer calls logging.basicConfig: the tests' logging stays
    handlers, level = root.handlers[:], root.level
    try:
        server = _mcp_server(auth, issuer)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    @server.tool()
    def whoami() -> str:
        """Who the token speaks for (the bearer token the SDK accepted is recorded)."""
        token = get_access_token()
        PROVIDER.tool_calls.append(token.token if token else "")
        return token.subject or "" if token else ""

    @server.custom_route("/consent", methods=["GET", "POST"])
    async def consent(request: Request) -> Response:
        """The authorization server's consent page (the SDK leaves it to the server)."""
        if request.method == "GET":
            pending = request.query_params.get("request", "")
            return HTMLResponse(f'<form method="post"><input type="hidden" name="request" '
                                f'value="{html.escape(pending)}"><button>Allow</button></form>')
        form = await request.form()
        return RedirectResponse(PROVIDER.approve(str(form["request"])), status_code=302)

    return server


def _mcp_server(auth: AuthSettings, issuer: str | None) -> MCPServer:
    return MCPServer(
        name="sdk-interop", version="1.0",
        # Its own authorization server (the SDK then verifies tokens with the provider),
        # or a resource server only, verifying them with the same store.
        auth_server_provider=None if issuer else PROVIDER,  # type: ignore[arg-type]
        token_verifier=ProviderTokenVerifier(PROVIDER) if issuer else None,  # type: ignore[arg-type]
        auth=auth)


@contextmanager
def running_sdk_server(issuer: str | None = None) -> Iterator[str]:
    """Serve the SDK's Streamable HTTP app on 127.0.0.1 (a free port) with uvicorn in a
    thread; yield its base URL. The socket is bound first: the SDK's settings name the
    server's own URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if issuer is None:
        PROVIDER.base = base
    app = switched(build_server(base, issuer).streamable_http_app(), base)
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="mcp-sdk-interop", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the MCP SDK server did not start"
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()

