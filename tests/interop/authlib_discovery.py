"""Discovery, dynamic registration and a protected resource on the Authlib server
(tests/interop/authlib_server.py), all Authlib's own protocol code where it has one:

    GET  /.well-known/oauth-authorization-server   RFC 8414, Authlib's
                                                   `AuthorizationServerMetadata` (validated,
                                                   with RFC 9207's `authorization_response_
                                                   iss_parameter_supported`)
    POST /oauth/register                           RFC 7591, Authlib's
                                                   `ClientRegistrationEndpoint` (open
                                                   registration, as MCP servers offer it)
    GET  /.well-known/oauth-protected-resource/mcp RFC 9728 metadata of the resource below
    GET  /metadata/mcp                             the same, as named by the 401
    POST /mcp                                      an MCP-like protected resource (bearer
                                                   token, Authlib's ResourceProtector):
                                                   JSON-RPC in, JSON or text/event-stream out;
                                                   401 + WWW-Authenticate resource_metadata

Authorization responses carry `iss` (Authlib's RFC 9207 `IssuerParameter`). Authlib has
no RFC 8707 support: the `resource` parameters Hatchway sends are recorded for the tests.
`DISCOVERY` switches the refusals the tests need (a registration endpoint answering 500,
garbage metadata, another issuer, an authorization server on a private address).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oauth2.rfc9207 import AuthorizationServerMetadata as IssMetadata
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask, Response, jsonify, request

from tests.interop.authlib_server import AUTH_METHODS, STORE, Client


@dataclass
class Discovery:
    """Switches and records of the discovery routes (reset between tests)."""

    registration_status: int = 0  # answer this status instead of registering
    revocation_status: int = 0  # answer this status instead of revoking
    metadata_override: Any = None  # serve this (bytes or a dict) as the RFC 8414 document
    resource_servers: list[str] | None = None  # authorization_servers in RFC 9728 metadata
    well_known_resource: bool = True  # False: 404 there, only the 401 names the metadata
    post_only: bool = False  # /mcp answers a GET 405 (before checking the token)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # `resource` params received
    mcp_calls: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


DISCOVERY = Discovery()


def metadata() -> AuthorizationServerMetadata:
    base = STORE.base
    document = AuthorizationServerMetadata({
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "registration_endpoint": f"{base}/oauth/register",
        "scopes_supported": ["read", "write"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    })
    document.validate(metadata_classes=[IssMetadata])  # Authlib checks it is RFC 8414's
    return document


class Issuer(IssuerParameter):  # type: ignore[misc]
    def get_issuer(self) -> str:
        return STORE.base


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    """Authlib's RFC 7591 endpoint; open registration (no initial access token)."""

    def authenticate_token(self, request: Any) -> bool:
        return True

    def get_server_metadata(self) -> dict[str, Any]:
        return dict(metadata())

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any],
                    request: Any) -> Client:
        client = Client(client_id=client_info["client_id"],
                        client_secret=client_info["client_secret"],
                        redirect_uris=list(client_metadata["redirect_uris"]),
                        grant_types=list(client_metadata.get("grant_types", [])))
        STORE.clients[client.client_id] = client
        DISCOVERY.registrations.append({**client_metadata, "client_id": client.client_id})
        return client


def add_routes(app: Flask, server: AuthorizationServer, protect: ResourceProtector) -> None:
    """The discovery routes, on the app `create_app` builds."""
    server.register_extension(Issuer())
    server.register_endpoint(Registration)

    @app.before_request
    def record_resource() -> Any:
        resource = request.values.get("resource")
        if resource:
            DISCOVERY.resources.append(resource)
        if request.path == "/oauth/revoke" and DISCOVERY.revocation_status:
            return Response(status=DISCOVERY.revocation_status)
        return None

    @app.get("/.well-known/oauth-authorization-server")
    def server_metadata() -> Any:
        override = DISCOVERY.metadata_override
        if isinstance(override, bytes):
            return Response(override, content_type="application/json")
        return jsonify(override if override is not None else dict(metadata()))

    @app.post("/oauth/register")
    def register() -> Any:
        if DISCOVERY.registration_status:
            return Response("upstream exploded", status=DISCOVERY.registration_status)
        with STORE.lock:
            return server.create_endpoint_response(Registration.ENDPOINT_NAME)

    @app.get("/.well-known/oauth-protected-resource/mcp")
    def well_known_resource_metadata() -> Any:
        if not DISCOVERY.well_known_resource:
            return Response(status=404)
        return resource_metadata()

    @app.get("/metadata/mcp")  # where the 401's WWW-Authenticate points
    def resource_metadata() -> Any:
        servers = DISCOVERY.resource_servers
        return jsonify(resource=f"{STORE.base}/mcp",
                       authorization_servers=[STORE.base] if servers is None else servers,
                       scopes_supported=["read", "write"])

    def challenge() -> Response:
        named = f"{STORE.base}/metadata/mcp"
        return Response(status=401, headers={
            "WWW-Authenticate": f'Bearer resource_metadata="{named}"'})

    @app.route("/mcp", methods=["GET", "POST"])
    def mcp() -> Any:
        if DISCOVERY.post_only and request.method == "GET":
            return Response(status=405)
        try:
            protect.acquire_token()
        except Exception:  # Authlib raises its OAuth2 error for a missing or bad token
            return challenge()
        if request.method == "GET":
            return Response(status=405)
        call = json.loads(request.get_data() or b"{}")
        DISCOVERY.mcp_calls.append({"call": call, "token": current_token.access_token,
                                    "session": request.headers.get("Mcp-Session-Id")})
        answer = {"jsonrpc": "2.0", "id": call.get("id"),
                  "result": {"serverInfo": {"name": "interop-mcp"}, "user": "ada"}}
        if "text/event-stream" in request.headers.get("Accept", "") and call.get(
                "method") == "tools/call":
            def events() -> Any:
                yield ("event: message\ndata: "
                       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n")
                yield f"event: message\ndata: {json.dumps(answer)}\n\n"
            return Response(events(), content_type="text/event-stream")
        response = jsonify(answer)
        if call.get("method") == "initialize":  # Streamable HTTP: the session's id
            response.headers["Mcp-Session-Id"] = "interop-session-1"
        return response
