"""Customer accounts: creating, changing and deleting them (with every install)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Account, Partner
from audit import events as audit
from core.text import normal_external_id, validate_external_id, validate_name
from installs.models import Revocation
from installs.removal import delete_install


class DuplicateExternalId(ValueError):
    """Another account of the partner already has this external id."""


def create_account(*, partner: Partner, name: str, external_id: str, actor: Any,
                   actor_label: str = "") -> Account:
    """A new account, its external id stored in NFC; ValidationError for a name with hidden
    characters or an external id breaking the rule (core/text.py)."""
    validate_name(name)
    external_id = checked_external_id(external_id)
    try:
        with transaction.atomic():
            if Account.objects.filter(partner=partner).same_external_id(external_id).exists():
                raise DuplicateExternalId(external_id)
            account = Account.objects.create(partner=partner, name=name, external_id=external_id)
            audit.record(audit.Action.ACCOUNT_CREATED, partner=partner, actor=actor,
                         actor_label=actor_label, account=account)
    except IntegrityError:
        raise DuplicateExternalId(external_id) from None
    return account


def update_account(*, account: Account, actor: Any, actor_label: str = "",
                   **changes: str) -> Account:
    """Rename an account or change its external id (`name`, `external_id`). An unchanged
    external id is kept as it is, even one written before the rule (core/text.py)."""
    if changes.get("external_id", account.external_id) != account.external_id:
        changes["external_id"] = checked_external_id(changes["external_id"])
    changed = sorted(k for k, v in changes.items() if getattr(account, k) != v)
    if not changed:
        return account
    if "name" in changed:
        validate_name(changes["name"])
    try:
        with transaction.atomic():
            if "external_id" in changed and Account.objects.filter(
                    partner=account.partner_id).exclude(pk=account.pk).same_external_id(
                    changes["external_id"]).exists():
                raise DuplicateExternalId(changes["external_id"])
            for key in changed:
                setattr(account, key, changes[key])
            account.save(update_fields=changed)
            audit.record(audit.Action.ACCOUNT_UPDATED, partner=account.partner, actor=actor,
                         actor_label=actor_label, account=account, fields=changed)
    except IntegrityError:
        account.refresh_from_db()
        raise DuplicateExternalId(changes.get("external_id", "")) from None
    return account


def checked_external_id(external_id: str) -> str:
    """The external id in NFC, or ValidationError when it breaks the rule."""
    external_id = normal_external_id(external_id)
    validate_external_id(external_id)
    return external_id


def delete_account(*, account: Account, actor: Any, actor_label: str = "") -> list[Revocation]:
    """Delete every install of the account through `delete_install`, then the account.

    Returns the installs' revocation outcomes. The account's row is locked while it is
    deleted, so an install created meanwhile is found (and deleted the same way) rather
    than cascaded away with its tokens still live at the provider.
    """
    outcomes: list[Revocation] = []
    while True:
        for install in account.installs.without_secrets():
            outcomes.append(delete_install(install=install, actor=actor,
                                           actor_label=actor_label))
        with transaction.atomic():
            locked = Account.objects.select_for_update().filter(pk=account.pk).first()
            if locked is None:  # deleted meanwhile
                return outcomes
            if not locked.installs.exists():
                # The names stay in the event: the webhook reports them after the row is gone.
                audit.record(audit.Action.ACCOUNT_DELETED, partner=locked.partner, actor=actor,
                             actor_label=actor_label, account_id=locked.pk,
                             external_id=locked.external_id, name=locked.name,
                             installs=len(outcomes))
                locked.delete()
                return outcomes
