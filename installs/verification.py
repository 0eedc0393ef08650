"""Checking an install's connection: the connector's verify request ("Test connection")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit import events as audit
from connectors.auth.base import AuthError, TransientError, no_unexpected_errors
from installs import refresh
from installs.models import Install
from installs.values import Setup


@dataclass
class ConnectionCheck:
    ok: bool
    message: str


def check_connection(*, install: Install, actor: Any, actor_label: str = "") -> ConnectionCheck:
    """Run the connector's verify request with the install's (fresh) credentials."""
    try:
        install = refresh.ensure_fresh(install)
    except AuthError as error:
        return ConnectionCheck(False, error.message)
    if install.credentials_unreadable:
        return ConnectionCheck(False, "The stored credentials cannot be read — reauthenticate.")
    method = Setup.of(install).method()
    if not install.credentials and method.type != "none":
        return ConnectionCheck(False, "This install is not authenticated yet.")
    if not method.has_verify:
        return ConnectionCheck(True, "This connector defines no test request; "
                                     "its credentials are stored.")
    try:
        with no_unexpected_errors("The test request"):
            method.verify(dict(install.credentials))
    except AuthError as error:
        _record_verify(install.pk, error, actor=actor, actor_label=actor_label)
        return ConnectionCheck(False, error.message)
    _record_verify(install.pk, None, actor=actor, actor_label=actor_label)
    return ConnectionCheck(True, "Connection works: the provider accepted the credentials.")


def _record_verify(install_id: int, error: AuthError | None, *, actor: Any,
                   actor_label: str = "") -> None:
    with transaction.atomic():
        install = Install.objects.for_update().get(pk=install_id)
        if error is None:
            install.mark_verified(actor=actor, actor_label=actor_label)
        elif isinstance(error, TransientError):  # the provider is down: the status stays
            audit.record(audit.Action.INSTALL_VERIFY_FAILED, partner=install.account.partner,
                         actor=actor, actor_label=actor_label, install=install,
                         kind=error.kind)
        else:
            install.mark_verify_failed(error=error.message, kind=error.kind, actor=actor,
                                       actor_label=actor_label)
