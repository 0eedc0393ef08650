"""An OAuth 2.0 authorization server we did not write: Authlib's, on a real socket.

Everything protocol-shaped is Authlib's own code (its Flask AuthorizationServer and
ResourceProtector, the RFC 6749 grant classes, RFC 7636 `CodeChallenge` -- here demanded
of every client --, RFC 7009 `RevocationEndpoint`); this module only supplies what Authlib
leaves to its user -- the storage (in memory, inspectable by the tests) and the routes:

    GET  /oauth/authorize   consent is approved at once for the one user, "ada"
    POST /oauth/token       authorization_code (PKCE S256 required), refresh_token
                            (rotating: the old refresh token is revoked), client_credentials,
                            RFC 7523 JWT bearer (Authlib's `JWTBearerGrant`: the assertion's
                            signature by the client's registered public key, iss, aud, exp)
    POST /oauth/revoke      RFC 7009
    GET  /api/me            a protected resource (bearer token), for verify and proxy calls

`running_server()` serves it with werkzeug on 127.0.0.1 and a free port, in a daemon thread.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify
from joserfc.jwk import ECKey, RSAKey

from tests.interop.serving import serving

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
USER_ID = "ada"
GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # RFC 7523 §2.1


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    grant_types: list[str]
    scope: str = "read write"
    public_key: str = field(default="", repr=False)  # PEM: verifies its JWT-bearer assertions

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    client_id: str
    access_token: str
    refresh_token: str | None
    scope: str
    expires_in: int
    user_id: str | None
    issued_at: float = field(default_factory=time.time)
    access_token_revoked: bool = False
    refresh_token_revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_token_revoked

    def get_user(self) -> str | None:
        return self.user_id

    def get_client(self) -> Client:
        return STORE.clients[self.client_id]


@dataclass
class Store:
    """All of the server's state; the tests read it to see what Authlib decided."""

    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)  # access tokens /api/me accepted
    assertions: list[str] = field(default_factory=list)  # JWT-bearer assertions received
    token_outage: bool = False  # the token endpoint answers 503 (a test's outage)
    base: str = ""  # the running server's URL
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, *, redirect_uri: str = "",
                 grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
                 public_key: str = "") -> Client:
        client = Client(client_id=f"interop-{secrets.token_hex(4)}",
                        client_secret=f"interop-secret-{secrets.token_hex(12)}",
                        redirect_uris=[redirect_uri] if redirect_uri else [],
                        grant_types=list(grant_types), public_key=public_key)
        self.clients[client.client_id] = client
        return client

    def by_access(self, value: str) -> Token | None:
        return next((t for t in self.tokens if t.access_token == value), None)

    def by_refresh(self, value: str) -> Token | None:
        return next((t for t in self.tokens if t.refresh_token == value), None)

    def reset(self) -> None:
        with self.lock:
            self.clients.clear()
            self.codes.clear()
            self.tokens.clear()
            self.api_calls.clear()
            self.assertions.clear()
            self.token_outage = False


STORE = Store()  # one server per test session; `reset` between tests


# --- Authlib's grants, with the storage hooks they leave to the server ------------------


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, req: Any) -> None:
        STORE.codes[code] = Code(
            code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
            scope=req.payload.scope or "", user_id=req.user,
            code_challenge=req.payload.data.get("code_challenge"),
            code_challenge_method=req.payload.data.get("code_challenge_method"))

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = STORE.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        STORE.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> str:
        return authorization_code.user_id


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        token = STORE.by_refresh(refresh_token)
        return token if token and not token.refresh_token_revoked else None

    def authenticate_user(self, credential: Token) -> str | None:
        return credential.user_id

    def revoke_old_credential(self, credential: Token) -> None:
        credential.access_token_revoked = credential.refresh_token_revoked = True


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class JWTBearer(JWTBearerGrant):  # type: ignore[misc]
    """RFC 7523 §2.1: the client named by the assertion's `iss`, its key registered as PEM;
    `sub` must be the one user; the audience is this server's token endpoint."""

    def resolve_issuer_client(self, issuer: str) -> Client | None:
        return STORE.clients.get(issuer)

    def resolve_client_public_key(self, client: Client) -> Any:
        STORE.assertions.append(self.request.form.get("assertion", ""))
        loaded = serialization.load_pem_public_key(client.public_key.encode())
        key_class = RSAKey if isinstance(loaded, rsa.RSAPublicKey) else ECKey
        return key_class.import_key(client.public_key)

    def authenticate_user(self, subject: str) -> str | None:
        return subject if subject == USER_ID else None

    def has_granted_permission(self, client: Client, user: str) -> bool:
        return True

    def get_audiences(self) -> list[str]:
        return [f"{STORE.base}/oauth/token"]


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        if token_type_hint == "refresh_token":
            return STORE.by_refresh(token_string) or STORE.by_access(token_string)
        return STORE.by_access(token_string) or STORE.by_refresh(token_string)

    def revoke_token(self, token: Token, req: Any) -> None:
        token.access_token_revoked = token.refresh_token_revoked = True


class RequiredS256(CodeChallenge):  # type: ignore[misc]
    """Authlib's PKCE extension. Its `required` covers public clients only; this server
    demands an S256 challenge of every client (as RFC 9700 recommends), so a relying
    party that omits PKCE or downgrades to "plain" is refused at the authorize step."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method'")
        super().validate_code_challenge(grant, redirect_uri)


class Bearer(BearerTokenValidator):  # type: ignore[misc]
    def authenticate_token(self, token_string: str) -> Token | None:
        return STORE.by_access(token_string)


def save_token(token: dict[str, Any], req: Any) -> None:
    STORE.tokens.append(Token(
        client_id=req.client.client_id, access_token=token["access_token"],
        refresh_token=token.get("refresh_token"), scope=token.get("scope", ""),
        expires_in=int(token["expires_in"]), user_id=req.user))


def create_app() -> Flask:
    app = Flask("authlib-interop")
    app.config.update(OAUTH2_REFRESH_TOKEN_GENERATOR=True, OAUTH2_TOKEN_EXPIRES_IN={
        "authorization_code": 3600, "refresh_token": 3600, "client_credentials": 600,
        JWTBearerGrant.GRANT_TYPE: 3600})
    server = AuthorizationServer(app, query_client=STORE.clients.get, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [RequiredS256(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(JWTBearer)
    server.register_endpoint(Revocation)
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(Bearer())

    @app.get("/oauth/authorize")
    def authorize() -> Any:  # the consent page, answered "allow" at once
        try:
            grant = server.get_consent_grant(end_user=USER_ID)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return server.create_authorization_response(grant=grant, grant_user=USER_ID)

    @app.post("/oauth/token")
    def issue_token() -> Any:
        if STORE.token_outage:
            return jsonify(error="temporarily_unavailable"), 503
        with STORE.lock:
            return server.create_token_response()

    @app.post("/oauth/revoke")
    def revoke_token() -> Any:
        with STORE.lock:
            return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    from tests.interop.authlib_discovery import add_routes  # it imports this module
    add_routes(app, server, require_oauth)

    @app.get("/api/me")
    @require_oauth()
    def me() -> Any:
        STORE.api_calls.append(current_token.access_token)
        return jsonify(id=current_token.user_id or current_token.client_id,
                       name="Ada" if current_token.user_id else "machine")

    return app


@contextmanager
def running_server() -> Iterator[str]:
    """Serve the app on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    with serving(create_app(), "authlib-interop") as base:
        yield base
