"""Handing out an install's credentials: to the partner API and the proxy.

An install is refreshed first when its token is due (`refresh.ensure_fresh`, the workers'
row lock); one without working credentials raises `NotWorking`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit import events as audit
from installs import refresh
from installs.models import Install
from installs.values import Setup


class NotWorking(Exception):
    """The install has no working credentials (not authenticated, or needing a person)."""

    def __init__(self, install: Install) -> None:
        super().__init__(f"This install is {install.get_status_display().lower()}.")
        self.install = install


@dataclass
class SharedCredentials:
    """What the partner API hands out: the keys calling the provider needs (see
    `AuthMethod.shared_keys`), when they expire, and where the provider's API is."""

    type: str
    credentials: dict[str, Any]
    expires_at: datetime | None
    base_url: str


def working(install: Install, *, force_refresh: bool = False) -> Install:
    """The install refreshed first when due (or forced); NotWorking unless it works."""
    install = refresh.ensure_fresh(install, force=force_refresh)
    if not install.is_working or install.credentials_unreadable:
        raise NotWorking(install)
    return install


def share_credentials(*, install: Install, actor_label: str,
                      force_refresh: bool = False) -> SharedCredentials:
    """Fresh decrypted credentials for the partner's backend; every read is audited
    (counted per reader, install and minute -- the value never)."""
    install = working(install, force_refresh=force_refresh)
    method = Setup.of(install).method()
    data = dict(install.credentials)
    audit.record_counted(audit.Action.INSTALL_CREDENTIALS_READ, partner=install.account.partner,
                         actor_label=actor_label, install=install)
    credentials, expires_at = method.shared(data, install.expires_at)
    return SharedCredentials(type=method.type, credentials=credentials,
                             expires_at=expires_at, base_url=method.base_url)
