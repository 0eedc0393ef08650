"""Every addition or change support staff make in the admin to a partner, an account or
an install becomes an audit event, in the transaction of the change.

Django's admin writes a LogEntry for each (its History page); this turns that entry into
the partner's audit event, naming the staff member and the fields -- never a value. The
admins themselves live in apps below or beside this one, so they need not know of it.
Deletions are not taken from here: accounts and installs are deleted through their
services (which revoke and audit), and a partner with accounts cannot be deleted.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db.models import Model
from django.utils.text import capfirst

from accounts.models import Account, Partner
from audit import events as audit

#: (app label, model) → the actions of an addition and of a change.
AUDITED: dict[tuple[str, str], tuple[str, str]] = {
    ("accounts", "partner"): (audit.Action.PARTNER_CREATED, audit.Action.PARTNER_UPDATED),
    ("accounts", "account"): (audit.Action.ACCOUNT_CREATED, audit.Action.ACCOUNT_UPDATED),
    ("installs", "install"): (audit.Action.INSTALL_CREATED, audit.Action.INSTALL_UPDATED),
}


def audit_admin_change(sender: type[LogEntry], instance: LogEntry, created: bool,
                       **kwargs: Any) -> None:
    """post_save of a LogEntry: its audit event, when it records an addition or change of
    an audited model."""
    if not created or instance.action_flag not in (ADDITION, CHANGE):
        return
    content_type = instance.content_type
    actions = AUDITED.get((content_type.app_label, content_type.model)) if content_type \
        else None
    if actions is None:
        return
    edited = instance.get_edited_object()
    partner = _partner_of(edited)
    if partner is None:
        return
    added = instance.action_flag == ADDITION
    detail: dict[str, Any] = {"via": "admin"}
    if not added:
        detail["fields"] = _changed_fields(instance, edited)
    install: Any = None if isinstance(edited, Account | Partner) else edited
    audit.record(actions[0] if added else actions[1], partner=partner,
                 actor=instance.user, account=edited if isinstance(edited, Account) else None,
                 install=install, **detail)


def _partner_of(edited: Any) -> Partner | None:
    if isinstance(edited, Partner):
        return edited
    if isinstance(edited, Account):
        return edited.partner
    account = getattr(edited, "account", None)  # an install
    return account.partner if isinstance(account, Account) else None


def _changed_fields(entry: LogEntry, edited: Model) -> list[str]:
    """The names of the fields the change message lists (it holds their labels)."""
    by_label = {str(capfirst(getattr(f, "verbose_name", f.name))): f.name
                for f in edited._meta.get_fields()}
    try:
        message = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    labels = [label for part in message if isinstance(part, dict)
              for label in part.get("changed", {}).get("fields", [])]
    return sorted(by_label.get(label, label) for label in labels)
