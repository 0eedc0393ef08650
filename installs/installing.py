"""Installing a connector into an account, and editing the values an install holds.

Only the fields the install asks (`asked_fields`) are kept; secrets are encrypted. A
name with hidden characters is a ValidationError (core/text.py).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Account
from audit import events as audit
from connectors.forms import has_scopes
from connectors.models import Connector
from connectors.services import apply_entered
from core.text import validate_name
from installs.models import Install
from installs.values import SavedSettings, asked_fields


def link_actor_label(link_id: int | None, label: str = "") -> str:
    """Who acted, for the audit log: `label` (e.g. an API key), or the install link a
    customer acts through."""
    return label or (audit.LINK_ACTOR if link_id else "")


def create_install(*, account: Account, connector: Connector, name: str = "",
                   values: dict[str, str] | None = None, actor: Any,
                   link_id: int | None = None, actor_label: str = "",
                   saved: SavedSettings | None = None,
                   scopes: list[str] | None = None) -> Install:
    """A pending install with the values it asked for (`values` by field key)."""
    install = unsaved_install(account=account, connector=connector, name=name, values=values,
                              actor=actor, saved=saved, scopes=scopes)
    return save_new_install(install, actor=actor, link_id=link_id, actor_label=actor_label)


def unsaved_install(*, account: Account, connector: Connector, name: str = "",
                    values: dict[str, str] | None = None, actor: Any = None,
                    saved: SavedSettings | None = None,
                    scopes: list[str] | None = None) -> Install:
    """The install `create_install` writes, not written yet: what a sign-in without a
    browser tries before anything exists (installs/signin.py).

    Its `requested_scopes` are `scopes` (checked scope-tokens), else the partner's at this
    moment, else the catalogue's defaults: its own from then on, requested again by every
    reauthentication."""
    validate_name(name)
    saved = saved or SavedSettings()
    asked = {f.key: f for f in asked_fields(connector, account.partner, saved=saved)}
    entered = {k: v for k, v in (values or {}).items() if k in asked and v}
    return Install(account=account, connector=connector, name=name,
                   values={k: v for k, v in entered.items() if not asked[k].secret},
                   secret_values={k: v for k, v in entered.items() if asked[k].secret},
                   created_by=audit.as_user(actor),
                   requested_scopes=own_scopes(account, connector, saved, scopes))


def own_scopes(account: Account, connector: Connector, saved: SavedSettings,
               scopes: list[str] | None) -> list[str] | None:
    """The scopes a new install keeps (None for a connector without Scopes)."""
    if not has_scopes(connector.spec):
        return None
    if scopes is not None:
        return list(scopes)
    settings = saved.of(account.partner_id, connector)
    return list(settings.sign_in_scopes(connector.spec) if settings
                else connector.spec.auth.scopes)


def save_new_install(install: Install, *, actor: Any, link_id: int | None = None,
                     actor_label: str = "") -> Install:
    """Write an `unsaved_install` with its audit event, in one transaction."""
    with transaction.atomic():
        install.save()
        audit.record(audit.Action.INSTALL_CREATED, partner=install.account.partner,
                     actor=actor, actor_label=link_actor_label(link_id, actor_label),
                     install=install, fields=sorted({*install.values, *install.secret_values}))
    return install


def update_install_values(*, install: Install, name: str, values: dict[str, str],
                          actor: Any, link_id: int | None = None,
                          saved: SavedSettings | None = None) -> Install:
    """Edit an install's values. A secret left out (or blank) keeps its stored value."""
    validate_name(name)
    asked = asked_fields(install.connector, install.account.partner, saved=saved)
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install.pk)
        result = apply_entered(asked, values=install.values,
                               secret_values=install.secret_values, entered=values)
        install.name = name
        install.values, install.secret_values = result.values, result.secret_values
        install.save(update_fields=["name", "values", "secret_values", "updated_at"])
        audit.record(audit.Action.INSTALL_UPDATED, partner=install.account.partner, actor=actor,
                     actor_label=link_actor_label(link_id), install=install,
                     fields=sorted(result.changed))
    return install
