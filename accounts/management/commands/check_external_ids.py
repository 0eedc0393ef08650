"""`manage.py check_external_ids`: the accounts whose external id breaks the rule.

Ids written before the rule (core/text.py: no "/", control or invisible formatting
characters; stored in NFC) stay readable, so nothing changes them behind the partner's
back; this lists them, one line each, for the partner to change (console or API).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from core.text import external_id_problem, normal_external_id

CHUNK = 2000


def breaking_the_rule() -> Iterator[tuple[str, int, str, str]]:
    """(partner slug, account id, external id, why) for each account breaking the rule."""
    rows = (Account.objects.order_by("partner__slug", "pk")
            .values_list("partner__slug", "pk", "external_id").iterator(chunk_size=CHUNK))
    for slug, pk, external_id in rows:
        problem = external_id_problem(external_id)
        if problem is None and normal_external_id(external_id) != external_id:
            problem = "not in NFC (may look like another id)"
        if problem:
            yield slug, pk, external_id, problem


class Command(BaseCommand):
    help = ("List the accounts whose external id contains “/”, a control or an invisible "
            "formatting character, or is not in Unicode NFC; exit status 1 when there are any.")

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        for slug, pk, external_id, problem in breaking_the_rule():
            count += 1
            # ascii(): escaped, so a control character cannot forge or hide a line.
            self.stdout.write(f"{slug} account {pk} {ascii(external_id)}: {problem}")
        if count:
            accounts = "1 account has" if count == 1 else f"{count} accounts have"
            raise CommandError(f"{accounts} an external id breaking the rule; change them in "
                               "the console (account → Edit) or with PATCH "
                               "/api/v1/accounts/{external_id}.")
        self.stdout.write("Every external id follows the rules.")
