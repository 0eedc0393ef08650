"""The sandbox's GitHub-style app installations (issue 21 §4), for the demo and the tests.

An app is registered with a fresh RSA key pair: the sandbox keeps the public key, the
caller gets the private key (PEM) to enter as the partner's `private_key`. A customer
installs it on the install page, which sends them back to the app's setup URL with
`installation_id`, `setup_action=install` and the `state` it was given. The token endpoint
accepts an app JWT only when it verifies with the app's public key (RS256), names the app
as `iss`, and expires no more than 10 minutes after it was issued -- GitHub's rules -- and
answers an installation token expiring in an hour, with `expires_at`.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from .models import (
    AuthorizationCode,
    SandboxApp,
    SandboxClient,
    SandboxInstallation,
    SandboxToken,
    SandboxUser,
    digest,
)

#: How long an installation token lasts (GitHub's: one hour).
INSTALLATION_TOKEN_LIFETIME = 3600
#: The longest app JWT accepted: `exp` no more than 10 minutes after `iat`... plus the
#: 60 s a client backdates `iat` by.
MAX_JWT_SPAN = 11 * 60
GRANT_TYPE = "app_installation"


def new_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def register_app(*, name: str, slug: str, setup_url: str) -> tuple[SandboxApp, str]:
    """Register an app; return it and its private key (PEM), which the sandbox does not keep."""
    private, public = new_key_pair()
    app = SandboxApp.objects.create(name=name, slug=slug, public_key=public, setup_url=setup_url)
    return app, private


def authorize_installers(app: SandboxApp) -> tuple[str, str]:
    """Give the app an OAuth client (GitHub's "Request user authorization during
    installation"): installing then also returns a `code`. Returns (client_id, secret)."""
    from .services import register_client

    client_id, secret = register_client(name=f"{app.name} (installers)",
                                        redirect_uri=app.setup_url)
    app.client = SandboxClient.objects.get(client_id=client_id)
    app.save(update_fields=["client"])
    return client_id, secret


def installer_code(app: SandboxApp, user: SandboxUser) -> str:
    """An authorization code of the app's client for the installing user (single use)."""
    assert app.client is not None  # only for apps that authorize their installers
    code = secrets.token_urlsafe(24)
    AuthorizationCode.objects.create(client=app.client, user=user, code_hash=digest(code),
                                     scope="", secrets={},
                                     expires_at=timezone.now() + timedelta(minutes=10))
    return code


def installations_of(token: SandboxToken) -> list[SandboxInstallation]:
    """The live installations of the token's app that its user made."""
    return list(SandboxInstallation.objects.filter(app__client=token.client, user=token.user,
                                                   removed_at__isnull=True).order_by("pk"))


def install(app: SandboxApp, user: SandboxUser) -> SandboxInstallation:
    return SandboxInstallation.objects.create(app=app, user=user)


def uninstall(installation: SandboxInstallation) -> None:
    """Remove the app: its tokens stop working and new ones are refused (404)."""
    installation.removed_at = timezone.now()
    installation.save(update_fields=["removed_at"])
    SandboxToken.objects.filter(grant_type=GRANT_TYPE, scope=scope_of(installation)).update(
        revoked_at=timezone.now())


def scope_of(installation: SandboxInstallation) -> str:
    return f"installation:{installation.pk}"


def verified_app(token: str) -> SandboxApp | None:
    """The app whose key signed this app JWT, when its claims follow GitHub's rules: the
    `iss` it names (read before verifying, to find the key) is checked by the signature."""
    try:
        app = SandboxApp.objects.filter(pk=_app_pk(_unverified_iss(token))).first()
        if app is None:
            return None
        claims = jwt.decode(token, RSAKey.import_key(app.public_key),
                            algorithms=["RS256"]).claims
    except (JoseError, ValueError, TypeError):
        return None
    now = int(timezone.now().timestamp())
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (isinstance(iat, int) and isinstance(exp, int)):
        return None
    if not (iat <= now + 60 and now < exp <= now + 600 and exp - iat <= MAX_JWT_SPAN):
        return None
    return app


def _unverified_iss(token: str) -> object:
    payload = json.loads(jws.extract_compact(token.encode()).payload)
    return payload.get("iss") if isinstance(payload, dict) else None


def _app_pk(iss: object) -> int:
    if isinstance(iss, int) or (isinstance(iss, str) and iss.isdigit() and len(iss) < 19):
        return int(iss)
    raise ValueError("iss is not an app id")


def issue_installation_token(app: SandboxApp, installation_id: str) -> tuple[str, datetime] | None:
    """A new installation token of a live installation of `app`, and its expiry; else None."""
    installation = (SandboxInstallation.objects.select_related("user")
                    .filter(pk=int(installation_id), app=app, removed_at__isnull=True).first()
                    if installation_id.isdigit() and len(installation_id) < 19 else None)
    if installation is None:
        return None
    client, _ = SandboxClient.objects.get_or_create(
        client_id="app-installations", defaults={"name": "App installations", "secret_hash": "",
                                                 "secrets": {}})
    token = f"ghs_{secrets.token_urlsafe(30)}"
    expires_at = (timezone.now() + timedelta(seconds=INSTALLATION_TOKEN_LIFETIME)).replace(
        microsecond=0)
    SandboxToken.objects.create(
        client=client, user=installation.user, kind=SandboxToken.Kind.ACCESS,
        token_hash=digest(token), grant_type=GRANT_TYPE, scope=scope_of(installation),
        grant=uuid.uuid4(), expires_at=expires_at)
    return token, expires_at.astimezone(UTC)


def installation_token(token: str) -> SandboxToken | None:
    """The usable installation token row of this token, if any."""
    row = (SandboxToken.objects.select_related("user")
           .filter(kind=SandboxToken.Kind.ACCESS, grant_type=GRANT_TYPE,
                   token_hash=digest(token)).first())
    return row if row is not None and row.is_usable() else None


def revoke_installation_token(token: str) -> bool:
    row = installation_token(token)
    if row is None:
        return False
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    return True


def issued_installation_tokens() -> int:
    return SandboxToken.objects.filter(grant_type=GRANT_TYPE).count()
