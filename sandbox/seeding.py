"""Seeding due OAuth 2.0 installs whose tokens the sandbox really issued.

Used by the tests (refresh, revocation, credentials) and by the benchmarks (bench/), which
import no test module: so it lives with the sandbox it plays against. Going through the
consent page a thousand times would only measure the browser flow, so the sandbox's token rows are
written directly — exactly the rows its token endpoint writes — and each install holds
the matching plaintext tokens, expiring within the refresh margin.
"""

from __future__ import annotations

import secrets
import tomllib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Account, Partner
from connectors.models import Connector, PartnerAuthSettings
from connectors.services import callback_url
from connectors.spec import CATALOG_DIR, validate
from installs.models import Install
from sandbox import services as sandbox
from sandbox.models import SandboxClient, SandboxToken, digest


@dataclass
class Seeded:
    account: Account
    connector: Connector
    client: SandboxClient
    client_secret: str
    installs: list[Install]


def sandbox_connector() -> Connector:
    """The catalogue's "Sandbox (OAuth 2.0)" connector row."""
    existing = Connector.objects.filter(slug="sandbox-oauth2").first()
    if existing:
        return existing
    data = validate("sandbox-oauth2.toml", "sandbox-oauth2",
                    tomllib.loads((CATALOG_DIR / "sandbox-oauth2.toml").read_text()))
    return Connector.objects.create(
        slug="sandbox-oauth2", name=data["name"], description=data["description"],
        category_names=data.get("categories", []), auth_type=data["auth"]["type"],
        spec_data=data, search_text=data["name"].lower())


def issue_pair(client: SandboxClient, user: Any, grant_type: str = "authorization_code",
               ) -> tuple[SandboxToken, SandboxToken, dict[str, str]]:
    """Unsaved sandbox rows for a fresh access + refresh token pair, and the plaintext."""
    access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    common = {"client": client, "user": user, "grant_type": grant_type, "scope": "read write",
              "grant": uuid.uuid4()}
    rows = (
        SandboxToken(kind=SandboxToken.Kind.ACCESS, token_hash=digest(access),
                     expires_at=timezone.now() + timedelta(minutes=5), **common),
        SandboxToken(kind=SandboxToken.Kind.REFRESH, token_hash=digest(refresh), **common),
    )
    plain = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
             "scope": "read write"}
    return rows[0], rows[1], plain


def seed_due_installs(partner: Partner, count: int, *, expires_in: float = 60) -> Seeded:
    """`count` authenticated installs of the sandbox connector, all due for refresh."""
    connector = sandbox_connector()
    client_id, client_secret = sandbox.register_client(name=f"Refresh {partner.slug}",
                                                       redirect_uri=callback_url(connector.slug))
    client = SandboxClient.objects.get(client_id=client_id)
    PartnerAuthSettings.objects.update_or_create(
        partner=partner, connector=connector,
        defaults={"values": {"client_id": client_id},
                  "secret_values": {"client_secret": client_secret},
                  "saved_at": timezone.now()})
    account = Account.objects.create(partner=partner, name="Refresh load",
                                     external_id=f"refresh-{uuid.uuid4().hex[:8]}")
    user = sandbox.acting_user()
    expires_at = timezone.now() + timedelta(seconds=expires_in)
    tokens: list[SandboxToken] = []
    installs: list[Install] = []
    for n in range(count):
        access, refresh, plain = issue_pair(client, user)
        tokens += [access, refresh]
        installs.append(Install(account=account, connector=connector, name=f"Load {n}",
                                status=Install.Status.AUTHENTICATED, credentials=plain,
                                expires_at=expires_at, authenticated_at=timezone.now()))
    SandboxToken.objects.bulk_create(tokens, batch_size=500)
    installs = Install.objects.bulk_create(installs, batch_size=500)
    return Seeded(account, connector, client, client_secret, installs)


def sandbox_accepts(credentials: dict[str, Any]) -> bool:
    """The sandbox would accept this refresh token now, and the access token is live."""
    if not isinstance(credentials, dict) or not credentials.get("refresh_token"):
        return False
    refresh = SandboxToken.objects.filter(kind=SandboxToken.Kind.REFRESH,
                                          token_hash=digest(credentials["refresh_token"])).first()
    access = SandboxToken.objects.filter(kind=SandboxToken.Kind.ACCESS,
                                         token_hash=digest(credentials["access_token"])).first()
    return bool(refresh and refresh.is_usable() and access and access.is_usable())


def accepted_count(install_ids: list[int]) -> int:
    """How many of these installs hold tokens the sandbox accepts (two queries in all)."""
    creds = [i.credentials for i in Install.objects.filter(pk__in=install_ids).only("credentials")]
    refresh_hashes = {digest(c["refresh_token"]) for c in creds if c.get("refresh_token")}
    access_hashes = {digest(c["access_token"]) for c in creds if c.get("access_token")}
    now = timezone.now()
    usable = SandboxToken.objects.filter(used_at__isnull=True, revoked_at__isnull=True)
    good_refresh = set(usable.filter(kind=SandboxToken.Kind.REFRESH, token_hash__in=refresh_hashes)
                       .values_list("token_hash", flat=True))
    good_access = set(usable.filter(kind=SandboxToken.Kind.ACCESS, token_hash__in=access_hashes,
                                    expires_at__gt=now).values_list("token_hash", flat=True))
    return sum(1 for c in creds
               if digest(c.get("refresh_token", "")) in good_refresh
               and digest(c.get("access_token", "")) in good_access)
