"""Setting up the sandbox (clients, users) and counting what it issued.

A contract for the demo seeding and for other tests: `register_client`, `create_user`,
`acting_user`, `issued_count`, `refresh_count`.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache
from django.utils import timezone
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from .models import (
    SandboxClient,
    SandboxToken,
    SandboxUser,
    digest,
    hash_password,
)

DEMO_USERNAME = "demo-user"


def register_client(*, name: str, redirect_uri: str, kind: str = "oauth2",
                    require_pkce: bool = False) -> tuple[str, str]:
    """Register an application; return its (client_id, client_secret).

    kind "oauth2": a confidential OAuth 2.0 client that may use the authorization code
    (PKCE optional unless `require_pkce`), refresh token and client credentials grants.
    kind "oauth1": an OAuth 1.0a consumer key/secret pair. `redirect_uri` is the
    registered callback (OAuth 2.0: matched exactly; OAuth 1.0a: scheme, host and path,
    any query).
    """
    if kind not in SandboxClient.Kind.values:
        raise ValueError(f"Unknown client kind {kind!r}: use 'oauth2' or 'oauth1'.")
    client_id = secrets.token_hex(20)  # letters and digits: valid in both protocols
    secret = secrets.token_urlsafe(32)
    SandboxClient.objects.create(
        name=name, kind=kind, client_id=client_id, secret_hash=digest(secret),
        secrets={"consumer_secret": secret} if kind == SandboxClient.Kind.OAUTH1 else {},
        redirect_uri=redirect_uri, require_pkce=require_pkce,
    )
    return client_id, secret


def create_user(*, username: str, password: str, api_key: str) -> SandboxUser:
    """A sandbox user who can sign in with Basic `username:password` or an `X-API-Key`."""
    return SandboxUser.objects.create(username=username, password=hash_password(password),
                                      api_key_hash=digest(api_key))


#: How long a two-step sign-in's session token lasts.
TWO_STEP_LIFETIME = 3600


def two_step_sign_in(*, username: str, api_key: str) -> str | None:
    """A session token for a user whose name and API key match (a Tableau-style PAT
    sign-in), else None. Counted like the token endpoint's (grant type "two_step")."""
    user = SandboxUser.objects.filter(username=username, api_key_hash=digest(api_key)).first()
    if user is None or not api_key:
        return None
    client, _ = SandboxClient.objects.get_or_create(
        client_id="two-step-sign-in", defaults={"name": "Two-step sign-in", "secret_hash": "",
                                                "secrets": {}})
    token = secrets.token_urlsafe(32)
    SandboxToken.objects.create(
        client=client, user=user, kind=SandboxToken.Kind.ACCESS, token_hash=digest(token),
        grant_type="two_step", grant=uuid.uuid4(),
        expires_at=timezone.now() + timedelta(seconds=TWO_STEP_LIFETIME))
    return token


def two_step_user(token: str) -> SandboxUser | None:
    """The user of a usable two-step session token."""
    row = (SandboxToken.objects.select_related("user")
           .filter(kind=SandboxToken.Kind.ACCESS, grant_type="two_step",
                   token_hash=digest(token)).first())
    return row.user if row is not None and row.is_usable() else None


def acting_user() -> SandboxUser:
    """The sandbox has no login: consent is given as the first user ("demo-user" if none)."""
    user = SandboxUser.objects.order_by("pk").first()
    if user is None:
        user, _ = SandboxUser.objects.get_or_create(username=DEMO_USERNAME)
    return user


def issued_count(grant_type: str | None = None) -> int:
    """Access tokens the token endpoint issued, in all or for one grant type."""
    tokens = SandboxToken.objects.filter(kind=SandboxToken.Kind.ACCESS)
    if grant_type:
        tokens = tokens.filter(grant_type=grant_type)
    return tokens.count()


def refresh_count() -> int:
    """Successful refreshes (each one issued a new access token and rotated the refresh)."""
    return issued_count("refresh_token")


# -- JWT bearer grant (RFC 7523 §2.1; issue 21 §2) ----------------------------------------

#: How long an access token bought with a JWT assertion lasts, and the longest assertion
#: the sandbox accepts (Google's limit).
JWT_BEARER_LIFETIME = 3600
MAX_ASSERTION_LIFETIME = 3600
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_BEARER_PATH = "/sandbox/jwt-bearer/token"


class AssertionRefused(Exception):
    """Why an assertion was refused: an RFC 6749 error code and a description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def register_service_account(*, issuer: str, public_key: str, username: str) -> SandboxClient:
    """A service account: assertions whose `iss` is `issuer`, signed with the private half
    of `public_key` (PEM), act as `username` (or as the user their `sub` names)."""
    user, _ = SandboxUser.objects.get_or_create(username=username)
    client, _ = SandboxClient.objects.update_or_create(
        client_id=issuer, defaults={"name": f"Service account {issuer}", "secret_hash": "",
                                    "secrets": {"public_key": public_key,
                                                "username": user.username}})
    return client


def jwt_bearer_token(assertion: str, *, audience: str, scope: str = "") -> str:
    """An access token for a valid assertion (signature by the registered key, `aud` this
    endpoint, unexpired, `exp` at most an hour after `iat`, `jti` not seen before)."""
    try:
        issuer = json_claims(jws.extract_compact(assertion.encode()).payload).get("iss")
    except (JoseError, ValueError):
        raise AssertionRefused("invalid_grant", "The assertion is not a JWS.") from None
    if not isinstance(issuer, str):
        raise AssertionRefused("invalid_grant", "The assertion names no issuer.")
    client = SandboxClient.objects.filter(client_id=issuer).first()
    public_key = (client.secrets or {}).get("public_key") if client else None
    if client is None or not public_key:
        raise AssertionRefused("invalid_grant", "No service account has this issuer.")
    try:
        token = jwt.decode(assertion, public_jwk(public_key), algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(leeway=30, iss={"essential": True, "value": issuer},
                              aud={"essential": True, "value": audience},
                              exp={"essential": True}, iat={"essential": True},
                              jti={"essential": True}).validate(token.claims)
    except (JoseError, ValueError):
        raise AssertionRefused("invalid_grant", "The assertion's signature or claims are "
                                                "not valid.") from None
    claims = token.claims
    if int(claims["exp"]) - int(claims["iat"]) > MAX_ASSERTION_LIFETIME:
        raise AssertionRefused("invalid_grant", "The assertion lives longer than an hour.")
    if not cache.add(f"sandbox-jti:{issuer}:{claims['jti']}", 1, MAX_ASSERTION_LIFETIME + 60):
        raise AssertionRefused("invalid_grant", "The assertion was used before (jti).")
    username = claims.get("sub") or client.secrets.get("username")
    user = SandboxUser.objects.filter(username=username).first() if isinstance(
        username, str) else None
    if user is None:
        raise AssertionRefused("invalid_grant", "The subject is not a sandbox user.")
    access = secrets.token_urlsafe(32)
    SandboxToken.objects.create(
        client=client, user=user, kind=SandboxToken.Kind.ACCESS, token_hash=digest(access),
        grant_type="jwt_bearer", grant=uuid.uuid4(), scope=scope or str(claims.get("scope", "")),
        expires_at=timezone.now() + timedelta(seconds=JWT_BEARER_LIFETIME))
    return access


def public_jwk(public_key: str) -> RSAKey | ECKey:
    """The registered PEM public key as a JWK (a `kid` in the assertion names no other)."""
    loaded = serialization.load_pem_public_key(public_key.encode())
    if isinstance(loaded, rsa.RSAPublicKey):
        return RSAKey.import_key(public_key)
    return ECKey.import_key(public_key)


def json_claims(payload: bytes) -> dict[str, object]:
    claims = json.loads(payload)
    if not isinstance(claims, dict):
        raise ValueError("not an object")
    return claims
