"""Setting up the sandbox (clients, users) and counting what it issued.

A contract for the demo seeding and for other tests: `register_client`, `create_user`,
`acting_user`, `issued_count`, `refresh_count`.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.utils import timezone

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
