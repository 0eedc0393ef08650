"""The install a credentials read or a proxied call loads, in one hand-written statement.

The install with its account and connector, and the partner's Authentication Settings
for that connector joined in as `saved_settings` (what `Install.objects.with_saved_settings()`
gives, which `installs.values.Setup` then uses instead of reading them). Every such
request needs all four; built and compiled by the ORM (a filtered relation and three
joins) that cost more of a worker's CPU than PostgreSQL spends running it, on the
API's hottest path. So the SQL is written here once and its row turned into instances
by `core.rows`: Django's public API only. tests/api/test_lookups.py checks every
column against the ORM's answer, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from accounts.models import Account
from connectors.models import Connector, PartnerAuthSettings
from core import rows
from installs.models import Install

LOADED = (Install, Account, Connector, PartnerAuthSettings)

# Names from the models' metadata only; the two ids are parameters.
SQL = f"""
SELECT {rows.columns(Install, "i")}, {rows.columns(Account, "a")},
       {rows.columns(Connector, "c")}, {rows.columns(PartnerAuthSettings, "s")}
FROM {rows.table(Install)} i
JOIN {rows.table(Account)} a ON a."id" = i."account_id"
JOIN {rows.table(Connector)} c ON c."id" = i."connector_id"
LEFT JOIN {rows.table(PartnerAuthSettings)} s
       ON s."connector_id" = i."connector_id" AND s."partner_id" = a."partner_id"
WHERE i."id" = %s AND a."partner_id" = %s
"""  # noqa: S608


class InstallWithSecrets:
    """`get(install=…, partner=…)`: one of the partner's installs, as `QuerySet.get` finds
    it (Install.DoesNotExist when it is not the partner's or does not exist)."""

    model: type[Install] = Install

    def __init__(self, using: str = DEFAULT_DB_ALIAS) -> None:
        self.using = using

    def get(self, **lookup: Any) -> Install:
        if set(lookup) != {"install", "partner"}:
            raise TypeError("The install lookup takes install and partner (their ids).")
        install, partner = int(lookup["install"]), int(lookup["partner"])
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(SQL, [install, partner])
            row = cursor.fetchone()  # install ids are unique: one row at most
        if row is None:
            raise Install.DoesNotExist(f"No install {install} of partner {partner}.")
        own, account, connector, saved = rows.split(row, *LOADED)
        found = rows.instance(Install, own, connection)
        found.account = rows.instance(Account, account, connection)
        found.connector = rows.instance(Connector, connector, connection)
        if saved[0] is not None:  # as the ORM: no `saved_settings` when none were saved
            found.saved_settings = rows.instance(  # type: ignore[attr-defined]
                PartnerAuthSettings, saved, connection)
        return found


INSTALL_WITH_SECRETS = InstallWithSecrets()
