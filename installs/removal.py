"""Removing access: deauthenticating an install, deleting it, revoking its token.

The provider is asked to revoke (RFC 7009) where it can; the local credentials go either
way. A revocation the provider could not take now is kept, in the same transaction, for
the workers to retry (installs/revocation.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit import events as audit
from connectors.auth.base import AuthError, TransientError, no_unexpected_errors
from core import metrics
from core.locking import row_lock_scope
from installs.models import Install, PendingRevocation, Revocation
from installs.values import Setup


@dataclass
class Unrevoked:
    """A revocation the provider could not take now: what retrying it needs."""

    error: TransientError
    credentials: dict[str, Any]
    values: dict[str, str]


@dataclass
class Revoked:
    """What came of asking the provider to revoke an install's token."""

    outcome: Revocation
    retry: Unrevoked | None = None


def _revoke(install: Install) -> Revoked:
    """Ask the provider to revoke (RFC 7009): the outcome for the audit log and, when the
    provider was unavailable, what the workers need to retry."""
    if install.credentials_unreadable or not install.credentials:
        return Revoked(Revocation.NOTHING_TO_REVOKE)
    method = Setup.of(install).method()
    try:
        with no_unexpected_errors("The revocation"):
            if not method.offers_revocation:  # may discover it (connectors/dynamic.py)
                return Revoked(Revocation.NOT_SUPPORTED)
            method.revoke(dict(install.credentials))
    except TransientError as error:
        return Revoked(Revocation.UNAVAILABLE, Unrevoked(
            error=error, values=method.context.values,
            credentials=method.revocation_credentials(dict(install.credentials))))
    except AuthError:
        return Revoked(Revocation.FAILED)
    return Revoked(Revocation.REVOKED)


def _revoke_then(install: Install, finish: Callable[[Install, Revocation], None], *,
                 actor: Any) -> Revocation:
    """Revoke where possible, then `finish(locked install, outcome)` in one transaction.

    The install's row stays locked for the whole revocation (see core/locking.py), so
    no worker rotates the token between the revocation and `finish`. A revocation the
    provider could not take now is kept, in the same transaction, to be retried.
    """
    with row_lock_scope():
        locked = Install.objects.for_update().filter(pk=install.pk).first()
        if locked is None:  # deleted meanwhile
            return Revocation.NOTHING_TO_REVOKE
        revoked = _revoke(locked)
        metrics.observe_first_revocation(revoked.outcome)
        with transaction.atomic():
            if revoked.retry is not None:
                PendingRevocation.schedule(
                    install=locked, error=revoked.retry.error, values=revoked.retry.values,
                    credentials=revoked.retry.credentials, actor=actor)
            finish(locked, revoked.outcome)
    return revoked.outcome


def deauthenticate(*, install: Install, actor: Any, actor_label: str = "") -> Revocation:
    """Revoke at the provider where possible, then delete the local credentials either way.

    The install is kept (status "Deauthenticated"). Returns the revocation outcome
    ("unavailable": retried later by the workers).
    """
    def clear_credentials(locked: Install, outcome: Revocation) -> None:
        locked.mark_deauthenticated(revocation=outcome, actor=actor, actor_label=actor_label)

    return _revoke_then(install, clear_credentials, actor=actor)


def delete_install(*, install: Install, actor: Any, actor_label: str = "") -> Revocation:
    """Revoke where possible and delete the install. Returns the revocation outcome.

    A revocation the provider could not take now is kept and retried after the install is
    gone (its pending row then names no install).
    """
    def delete(locked: Install, outcome: Revocation) -> None:
        audit.record(audit.Action.INSTALL_DELETED, partner=locked.account.partner, actor=actor,
                     actor_label=actor_label, account=locked.account,
                     connector=locked.connector, install_id=locked.pk, revocation=outcome,
                     name=locked.name, status=locked.status)
        locked.delete()

    return _revoke_then(install, delete, actor=actor)
