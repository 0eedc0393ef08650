"""Install links: scoped, expiring, revocable tokens that let a customer complete installs.

A link's token is `secrets.token_urlsafe(32)`, shown once as a URL; only its SHA-256
(`hash_token`) is stored, so the database never holds a usable link. Lookups go by the
hash, which makes them independent of how much of a guessed token is right.

Return URLs and embedding origins are checked against the partner's allowlists
(core/origins.py), and so is the origin of a page that opens a link as a popup.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Partner
from audit import events as audit
from connectors.forms import check_scopes, has_scopes
from connectors.models import Connector, ConnectorQuerySet
from core import metrics, origins
from core.tokens import hash_token
from installs.installing import create_install, update_install_values
from installs.models import INSTALL_SECRETS, Install, InstallQuerySet, SignInOutcome
from installs.values import SavedSettings
from links.models import InstallLink

for _outcome in SignInOutcome:  # every series from the start, at 0
    metrics.LINK_COMPLETIONS.labels(_outcome.value)

security_log = logging.getLogger("hatchway.security")

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


# --- links -----------------------------------------------------------------------------


def is_allowed_return_url(url: str, partner: Partner) -> bool:
    """The URL is absolute and its origin is exactly one the partner allowlisted."""
    return origins.is_allowed_return_url(url, partner.allowed_return_origins)


def validate_return_url(url: str, partner: Partner) -> str:
    """The URL unchanged when allowed; ValidationError otherwise ('' passes: no return)."""
    return origins.validate_return_url(url, partner.allowed_return_origins)


def link_url(token: str) -> str:
    """The customer-facing URL, built from PUBLIC_URL (never the Host header)."""
    return f"{settings.PUBLIC_URL}{reverse('install:landing', args=[token])}"


def configured_connectors(partner: Partner) -> ConnectorQuerySet:
    """Connectors a link may offer: active ones whose Authentication Settings are saved."""
    # Annotated by with_configured(), which the plugin does not follow into this type.
    return Connector.objects.active(partner).with_configured(partner).filter(  # type: ignore[misc]
        is_configured=True)


def create_link(
    *,
    account: Account,
    connectors: Iterable[Connector],
    expires_in: timedelta = InstallLink.DEFAULT_LIFETIME,
    return_url: str = "",
    install: Install | None = None,
    actor: Any = None,
    actor_label: str = "",
    scopes: Mapping[str, list[str]] | None = None,
) -> tuple[InstallLink, str]:
    """Create a link; return it and its token (the only time the token exists).

    `scopes`: by connector slug, the scopes an install made through the link requests
    (each a scope-token, for an OAuth 2.0 or client-credentials connector the link offers).
    """
    if not timedelta(0) < expires_in <= InstallLink.MAX_LIFETIME:
        raise ValidationError("Expiry must be between 1 minute and 7 days.")
    validate_return_url(return_url, account.partner)
    if install is not None and install.account_id != account.pk:
        raise ValidationError("That install belongs to another account.")
    connectors = list(connectors)
    if install is not None and install.connector not in connectors:
        connectors.append(install.connector)
    scopes = link_scopes(connectors, scopes or {})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = InstallLink.objects.create(
            account=account, token_hash=hash_token(token), install=install,
            return_url=return_url, expires_at=timezone.now() + expires_in,
            created_by=audit.as_user(actor), scopes=scopes,
        )
        link.connectors.set(connectors)
        audit.record(audit.Action.LINK_CREATED, partner=account.partner, actor=actor,
                     actor_label=actor_label, account=account, install=install,
                     link=link.pk, connectors=sorted(c.slug for c in connectors),
                     expires_at=link.expires_at.isoformat(), return_url=bool(return_url))
    return link, token


def link_scopes(connectors: list[Connector], scopes: Mapping[str, list[str]]
                ) -> dict[str, list[str]]:
    """Checked `scopes` for a link offering `connectors`; a ValidationError by slug."""
    offered = {c.slug: c for c in connectors}
    checked: dict[str, list[str]] = {}
    for slug, chosen in scopes.items():
        connector = offered.get(slug)
        if connector is None:
            raise ValidationError(f"Scopes for {slug}, which the link does not offer.")
        if not has_scopes(connector.spec):
            raise ValidationError(f"{connector.name} takes no scopes.")
        try:
            checked[slug] = check_scopes(chosen)
        except ValidationError as error:
            raise ValidationError(f"{slug}: {error.messages[0]}") from None
    return checked


def find_link(token: str) -> InstallLink | None:
    """The link a token opens, whatever its state; None for a malformed or unknown token."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    # The logo bytes are read only by the logo view, when it asks for them.
    link = (InstallLink.objects.select_related("account__partner", "install__connector")
            .defer(*INSTALL_SECRETS, "account__partner__logo")
            .filter(token_hash=hash_token(token)).first())
    if link is None:
        security_log.info("install link not found (malformed or unknown token)")
    return link


def revoke_link(*, link: InstallLink, actor: Any, actor_label: str = "") -> bool:
    """Revoke an active link; False when it was already revoked (nothing changes)."""
    with transaction.atomic():
        changed = InstallLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if changed:
            audit.record(audit.Action.LINK_REVOKED, partner=link.account.partner, actor=actor,
                         actor_label=actor_label, account=link.account, install=link.install,
                         link=link.pk)
    link.refresh_from_db(fields=["revoked_at"])
    return bool(changed)


def state_label(link: InstallLink) -> str:
    """'Active', 'Expired' or 'Revoked', with 'used by N installs' once it has been used."""
    label = link.state.capitalize()
    if link.use_count:
        noun = "install" if link.use_count == 1 else "installs"
        label += f" · used by {link.use_count} {noun}"
    return label


def record_opened(link: InstallLink) -> None:
    """Audit a link's opening (the first one in each browser session) and count it."""
    audit.record(audit.Action.LINK_OPENED, partner=link.account.partner,
                 actor_label=audit.LINK_ACTOR, account=link.account, install=link.install,
                 link=link.pk)
    metrics.LINK_OPENS.inc()


def offered_connectors(link: InstallLink) -> list[Connector]:
    """What this link lets the customer connect: its connectors that are still active."""
    if link.install is not None:
        return [link.install.connector]
    return list(link.connectors.active(link.account.partner).order_by("name"))


def install_to_connect(*, link: InstallLink, connector: Connector, values: dict[str, str],
                       saved: SavedSettings | None = None) -> Install:
    """The install a Connect through this link authenticates: the pending one an earlier
    Connect through this link started signing in (its values updated), else a new one.

    So pressing Connect again -- after going back from the provider, or twice at once
    (the link's row lock serialises them) -- never leaves a trail of pending installs.
    Installs made elsewhere (the console, another link) are never taken over.
    """
    with transaction.atomic():
        InstallLink.objects.select_for_update().filter(pk=link.pk).first()
        pending = (link_installs(link)
                   .filter(connector=connector, status=Install.Status.PENDING,
                           auth_attempts__install_link=link)
                   .order_by("-created_at", "-pk").first())
        if pending is None:
            return create_install(account=link.account, connector=connector,
                                  values=values, actor=None, link_id=link.pk,
                                  saved=saved, scopes=link.scopes.get(connector.slug))
    if not values:
        return pending
    return update_install_values(install=pending, name=pending.name, values=values,
                                 actor=None, link_id=link.pk, saved=saved)


def link_installs(link: InstallLink) -> InstallQuerySet:
    """The installs a link may reach: only its own account's (and only its target, if set)."""
    installs = Install.objects.without_secrets().filter(account=link.account)
    if link.install_id:
        installs = installs.filter(pk=link.install_id)
    return installs.select_related("connector")


# --- popup mode ------------------------------------------------------------------------


def popup_origin(text: str, partner: Partner) -> str:
    """The canonical origin `text` names when it is one of the partner's allowed return
    origins (an exact match after `normalise_origin`), else ''."""
    try:
        origin = origins.normalise_origin(text)
    except ValidationError:
        return ""
    return origin if origin in partner.allowed_return_origins else ""


# --- finishing -------------------------------------------------------------------------


def record_outcome(*, link: InstallLink, install: Install, outcome: str) -> SignInOutcome:
    """Count the outcome of an install made through a link (anything unknown is an error)
    and, when connected, the link's use. Returns the outcome as recorded."""
    recorded = SignInOutcome(outcome) if outcome in SignInOutcome.values else SignInOutcome.ERROR
    metrics.LINK_COMPLETIONS.labels(recorded.value).inc()
    if recorded == SignInOutcome.CONNECTED:
        with transaction.atomic():
            InstallLink.objects.filter(pk=link.pk).update(use_count=F("use_count") + 1)
            audit.record(audit.Action.LINK_USED, partner=link.account.partner,
                         actor_label=audit.LINK_ACTOR, install=install, link=link.pk)
    return recorded
