"""An OpenID Connect provider we did not write: Authlib's, on a real socket.

The protocol is Authlib's own code -- its Flask AuthorizationServer, the RFC 6749
authorization code grant with RFC 7636 PKCE (S256 demanded, `RequiredS256`), and the
OpenID Connect extension `authlib.oidc.core.grants.OpenIDCode` (nonce required), which
signs the ID token with joserfc. This module supplies what Authlib leaves to its user: the
storage, the signing key, the users, and the routes:

    GET  /.well-known/openid-configuration   OpenID Connect Discovery 1.0
    GET  /jwks                               the public signing key
    GET  /oauth/authorize                    consent at once, for `store.user`
    POST /oauth/token                        the code exchange (client_secret_basic)

`store.tamper` lets a test make the provider misbehave the way a hostile or broken one
would: the ID token Authlib issued is re-signed with changed claims, signed with another
key, or replaced by one issued earlier (a replay).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.interop.authlib_server import AUTH_METHODS, Client, Code, RequiredS256, Token
from tests.interop.serving import serving

KEY = RSAKey.generate_key(2048, parameters={"kid": "interop-oidc-1", "use": "sig"})
FOREIGN_KEY = RSAKey.generate_key(2048, parameters={"kid": "interop-oidc-1", "use": "sig"})
SCOPES = "openid email profile"


@dataclass
class OIDCCode(Code):
    nonce: str | None = None
    auth_time: int = 0

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Person:
    sub: str
    email: str
    email_verified: bool = True
    name: str = "Test Person"


@dataclass
class OIDCStore:
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, OIDCCode] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)
    id_tokens: list[str] = field(default_factory=list)  # every one Authlib issued
    user: Person = field(default_factory=lambda: Person("sub-nina", "nina@acme.test"))
    tamper: dict[str, Any] = field(default_factory=dict)
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, *, redirect_uri: str) -> Client:
        client = Client(client_id=f"oidc-{secrets.token_hex(4)}",
                        client_secret=f"fake-oidc-secret-{secrets.token_hex(12)}",
                        redirect_uris=[redirect_uri], grant_types=["authorization_code"],
                        scope=SCOPES)
        self.clients[client.client_id] = client
        return client

    def reset(self) -> None:
        with self.lock:
            self.clients.clear()
            self.codes.clear()
            self.tokens.clear()
            self.id_tokens.clear()
            self.tamper.clear()
            self.user = Person("sub-nina", "nina@acme.test")


OIDC_STORE = OIDCStore()


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, req: Any) -> None:
        data = req.payload.data
        OIDC_STORE.codes[code] = OIDCCode(
            code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
            scope=req.payload.scope or "", user_id=req.user.sub,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            nonce=data.get("nonce"), auth_time=int(time.time()))

    def query_authorization_code(self, code: str, client: Client) -> OIDCCode | None:
        found = OIDC_STORE.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: OIDCCode) -> None:
        OIDC_STORE.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: OIDCCode) -> Person:
        return OIDC_STORE.user


class Connect(OpenIDCode):  # type: ignore[misc]
    """Authlib's OpenID Connect extension of the code grant."""

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return KEY

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": OIDC_STORE.base, "aud": [client.client_id]}

    def get_encode_header(self, client: Client) -> dict[str, Any]:
        return {"alg": "RS256", "kid": KEY.kid}

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return any(c.nonce == nonce for c in OIDC_STORE.codes.values())

    def generate_user_info(self, user: Person, scope: str) -> UserInfo:
        info = UserInfo(sub=user.sub)
        if "email" in scope.split():
            info.update(email=user.email, email_verified=user.email_verified)
        if "profile" in scope.split():
            info["name"] = user.name
        return info


def save_token(token: dict[str, Any], req: Any) -> None:
    OIDC_STORE.tokens.append(Token(
        client_id=req.client.client_id, access_token=token["access_token"],
        refresh_token=token.get("refresh_token"), scope=token.get("scope", ""),
        expires_in=int(token["expires_in"]), user_id=req.user.sub))


def tampered(id_token: str) -> str:
    """The ID token as `OIDC_STORE.tamper` says the provider misbehaves."""
    tamper = OIDC_STORE.tamper
    if tamper.get("replay"):
        return OIDC_STORE.id_tokens[0]
    claims = dict(jwt.decode(id_token, KEY).claims)
    claims.update(tamper.get("claims", {}))
    key = FOREIGN_KEY if tamper.get("foreign_key") else KEY
    return jwt.encode({"alg": "RS256", "kid": KEY.kid}, claims, key)


def create_app() -> Flask:
    app = Flask("authlib-oidc-interop")
    server = AuthorizationServer(app, query_client=OIDC_STORE.clients.get,
                                 save_token=save_token)
    server.register_grant(AuthorizationCodeGrant,
                          [RequiredS256(required=True), Connect(require_nonce=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        base = OIDC_STORE.base
        return jsonify(
            issuer=OIDC_STORE.tamper.get("discovery_issuer", base),
            authorization_endpoint=f"{base}/oauth/authorize",
            token_endpoint=f"{base}/oauth/token", jwks_uri=f"{base}/jwks",
            response_types_supported=["code"], subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            token_endpoint_auth_methods_supported=AUTH_METHODS,
            code_challenge_methods_supported=["S256"], scopes_supported=SCOPES.split())

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(keys=[KEY.as_dict(private=False)])

    @app.get("/oauth/authorize")
    def authorize() -> Any:
        try:
            grant = server.get_consent_grant(end_user=OIDC_STORE.user)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return server.create_authorization_response(grant=grant, grant_user=OIDC_STORE.user)

    @app.post("/oauth/token")
    def issue_token() -> Any:
        with OIDC_STORE.lock:
            response = server.create_token_response()
            body = response.get_json()
            if response.status_code != 200 or "id_token" not in body:
                return response
            OIDC_STORE.id_tokens.append(body["id_token"])
            if OIDC_STORE.tamper:
                body["id_token"] = tampered(body["id_token"])
            return jsonify(body)

    return app


@contextmanager
def running_server() -> Iterator[str]:
    """Serve the provider on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    with serving(create_app(), "authlib-oidc") as base:
        yield base
