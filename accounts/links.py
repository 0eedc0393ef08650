"""Install links: scoped, expiring, revocable tokens that let a customer complete installs.

A link's token is `secrets.token_urlsafe(32)`, shown once as a URL; only its SHA-256
(`hash_token`) is stored, so the database never holds a usable link. Lookups go by the
hash, which makes them independent of how much of a guessed token is right.

Return URLs and embedding origins are checked against the partner's allowlists: an
origin is `scheme://host[:port]`, compared exactly (scheme, host and port).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import audit
from accounts.models import (
    INSTALL_SECRETS,
    Account,
    AuthAttempt,
    Install,
    InstallLink,
    InstallQuerySet,
    Partner,
    hash_token,
)
from connectors.http import LOCAL_HOSTS
from connectors.models import Connector, ConnectorQuerySet

security_log = logging.getLogger("hatchway.security")

OUTCOMES = ("connected", "cancelled", "error")
MAX_ORIGINS = 20
# What the browser session remembers: the link it opened last, and the last outcome.
SESSION_LINK = "install_link_id"
SESSION_RESULT = "install_result"

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
HOST_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])$"
)
DEFAULT_PORTS = {"http": 80, "https": 443}


# --- origins and return URLs -----------------------------------------------------------


def _local_http_allowed(host: str) -> bool:
    """Plain http is for local development and the sandbox only, and only on loopback."""
    return settings.ALLOW_LOCAL_PROVIDERS and (host in LOCAL_HOSTS or host.endswith(".localhost"))


def _origin_of(scheme: str, host: str, port: int | None) -> str:
    port_part = f":{port}" if port and port != DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{host}{port_part}"


def normalise_origin(text: str) -> str:
    """`scheme://host[:port]` in canonical form, or ValidationError naming the problem."""
    text = text.strip()
    if not text or len(text) > 200 or any(c.isspace() or ord(c) < 32 for c in text):
        raise ValidationError(f"{text[:60]!r} is not an origin like https://app.example.com.")
    if text.endswith("/"):
        text = text[:-1]
    try:  # urlsplit itself raises on a malformed IPv6 host, .port on a bad port
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValidationError(f"{text[:60]!r} is not an origin like https://app.example.com."
                              ) from None
    host = (parts.hostname or "").lower()
    if ":" in host:  # urlsplit drops an IPv6 address's brackets
        host = f"[{host}]"
    if (parts.scheme not in ("https", "http") or not HOST_RE.match(host) or parts.path
            or parts.query or parts.fragment or "@" in parts.netloc or "\\" in text):
        raise ValidationError(f"{text[:60]!r} is not an origin like https://app.example.com "
                              "(no path, no user name).")
    if parts.scheme == "http" and not _local_http_allowed(host):
        raise ValidationError(f"{text[:60]!r} must use https://.")
    return _origin_of(parts.scheme, host, port)


def parse_origins(text: str) -> list[str]:
    """One origin per line → canonical, de-duplicated list; every bad line is named."""
    origins: list[str] = []
    errors: list[ValidationError] = []
    for line in text.replace("\r", "").split("\n"):
        if not line.strip():
            continue
        try:
            origin = normalise_origin(line)
        except ValidationError as exc:
            errors.append(exc)
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        errors.append(ValidationError(f"At most {MAX_ORIGINS} origins."))
    if errors:
        raise ValidationError(errors)
    return origins


def return_url_origin(url: str) -> str | None:
    """The origin of an absolute, well-formed return URL, or None when it is anything else.

    `url_has_allowed_host_and_scheme` catches what browsers read differently from
    Python (`\\\\evil.com`, `https:evil.com`, control characters, `javascript:`); on
    top of it the URL must be absolute and without a user name.
    """
    if not isinstance(url, str) or not url or len(url) > 500:
        return None
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return None
    if parts.scheme not in ("https", "http") or not parts.netloc or "@" in parts.netloc:
        return None
    try:
        origin = normalise_origin(f"{parts.scheme}://{parts.netloc}")
    except ValidationError:
        return None
    require_https = not _local_http_allowed((parts.hostname or "").lower())
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={parts.netloc},
                                           require_https=require_https):
        return None
    return origin


def is_allowed_return_url(url: str, partner: Partner) -> bool:
    """The URL is absolute and its origin is exactly one the partner allowlisted."""
    origin = return_url_origin(url)
    return origin is not None and origin in partner.allowed_return_origins


def validate_return_url(url: str, partner: Partner) -> str:
    """The URL unchanged when allowed; ValidationError otherwise ('' passes: no return)."""
    if url == "":
        return url
    if not is_allowed_return_url(url, partner):
        raise ValidationError(
            "The return URL must be an https:// address on one of the allowed return URLs "
            "in Branding."
        )
    return url


def return_url_with_outcome(url: str, *, outcome: str, connector_slug: str) -> str:
    """The return URL with `status` and `connector` appended to its query (nothing else)."""
    parts = urlsplit(url)
    extra = urlencode({"status": outcome, "connector": connector_slug})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


# --- links -----------------------------------------------------------------------------


def link_url(token: str) -> str:
    """The customer-facing URL, built from PUBLIC_URL (never the Host header)."""
    return f"{settings.PUBLIC_URL}{reverse('install:landing', args=[token])}"


def configured_connectors(partner: Partner) -> ConnectorQuerySet:
    """Connectors a link may offer: active ones whose Authentication Settings are saved."""
    return Connector.objects.active().with_configured(partner).filter(is_configured=True)


def create_link(
    *,
    account: Account,
    connectors: Iterable[Connector],
    expires_in: timedelta = InstallLink.DEFAULT_LIFETIME,
    return_url: str = "",
    install: Install | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> tuple[InstallLink, str]:
    """Create a link; return it and its token (the only time the token exists)."""
    if not timedelta(0) < expires_in <= InstallLink.MAX_LIFETIME:
        raise ValidationError("Expiry must be between 1 minute and 7 days.")
    validate_return_url(return_url, account.partner)
    if install is not None and install.account_id != account.pk:
        raise ValidationError("That install belongs to another account.")
    connectors = list(connectors)
    if install is not None and install.connector not in connectors:
        connectors.append(install.connector)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = InstallLink.objects.create(
            account=account, token_hash=hash_token(token), install=install,
            return_url=return_url, expires_at=timezone.now() + expires_in,
            created_by=audit.as_user(actor),
        )
        link.connectors.set(connectors)
        audit.record("link.created", partner=account.partner, actor=actor,
                     actor_label=actor_label, account=account, install=install,
                     link=link.pk, connectors=sorted(c.slug for c in connectors),
                     expires_at=link.expires_at.isoformat(), return_url=bool(return_url))
    return link, token


def find_link(token: str) -> InstallLink | None:
    """The link a token opens, whatever its state; None for a malformed or unknown token."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    link = (InstallLink.objects.select_related("account__partner", "install__connector")
            .defer(*INSTALL_SECRETS).filter(token_hash=hash_token(token)).first())
    if link is None:
        security_log.info("install link not found (malformed or unknown token)")
    return link


def revoke_link(*, link: InstallLink, actor: Any) -> bool:
    """Revoke an active link; False when it was already revoked (nothing changes)."""
    with transaction.atomic():
        changed = InstallLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if changed:
            audit.record("link.revoked", partner=link.account.partner, actor=actor,
                         account=link.account, install=link.install, link=link.pk)
    link.refresh_from_db(fields=["revoked_at"])
    return bool(changed)


def state_label(link: InstallLink) -> str:
    """'Active', 'Expired' or 'Revoked', with 'used by N installs' once it has been used."""
    label = link.state.capitalize()
    if link.use_count:
        noun = "install" if link.use_count == 1 else "installs"
        label += f" · used by {link.use_count} {noun}"
    return label


def note_opened(request: HttpRequest, link: InstallLink) -> None:
    """Remember the link in the browser session; audit the first opening per session."""
    if request.session.get(SESSION_LINK) == link.pk:
        return
    request.session[SESSION_LINK] = link.pk
    audit.record("link.opened", partner=link.account.partner, actor_label=audit.LINK_ACTOR,
                 account=link.account, install=link.install, link=link.pk)


def offered_connectors(link: InstallLink) -> list[Connector]:
    """What this link lets the customer connect: its connectors that are still active."""
    if link.install_id:
        return [link.install.connector]
    return list(link.connectors.filter(retired_at__isnull=True).order_by("name"))


def link_installs(link: InstallLink) -> InstallQuerySet:
    """The installs a link may reach: only its own account's (and only its target, if set)."""
    installs = Install.objects.without_secrets().filter(account=link.account)
    if link.install_id:
        installs = installs.filter(pk=link.install_id)
    return installs.select_related("connector")


# --- finishing -------------------------------------------------------------------------


def finish_link(
    request: HttpRequest, *, link: InstallLink, install: Install, outcome: str, message: str = ""
) -> HttpResponse:
    """Record the outcome of an install made through a link and show the result page.

    The browser is redirected to the result page (so the provider's callback URL, with
    its code and state, leaves the address bar at once); the result lives in the session.
    """
    if outcome not in OUTCOMES:
        outcome = "error"
    if outcome == "connected":
        with transaction.atomic():
            InstallLink.objects.filter(pk=link.pk).update(use_count=F("use_count") + 1)
            audit.record("link.used", partner=link.account.partner, actor_label=audit.LINK_ACTOR,
                         install=install, link=link.pk)
    request.session[SESSION_LINK] = link.pk
    request.session[SESSION_RESULT] = {
        "link": link.pk, "install": install.pk, "connector": install.connector.slug,
        "outcome": outcome, "message": str(message)[:500],
    }
    return redirect("install:result")


def finish_link_attempt(
    request: HttpRequest, attempt: AuthAttempt, outcome: str, message: str
) -> HttpResponse:
    """Called by the OAuth callback when the attempt was started through an install link."""
    return finish_link(request, link=attempt.install_link, install=attempt.install,
                       outcome=outcome, message=message)
