"""`manage.py create_install_link ACCOUNT_EXTERNAL_ID`: print an install link for scripts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from connectors.models import Connector
from links import services as links
from links.forms import DEFAULT_MINUTES, MAX_MINUTES


class Command(BaseCommand):
    help = ("Create an install link for one account and print its URL (shown only this once). "
            "By default it offers every connector the partner has configured.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("external_id", help="The partner's own id of the account.")
        parser.add_argument("--partner", metavar="SLUG",
                            help="The partner, when the external id exists at several.")
        parser.add_argument("--connector", metavar="SLUG", action="append", default=[],
                            help="Offer this connector (repeat for several).")
        parser.add_argument("--expires", metavar="MINUTES", type=int, default=DEFAULT_MINUTES,
                            help=f"Minutes until the link expires (default {DEFAULT_MINUTES}, "
                                 f"at most {MAX_MINUTES}).")
        parser.add_argument("--return-url", default="",
                            help="Where customers go afterwards (must be an allowed return URL).")

    def handle(self, *args: Any, **options: Any) -> None:
        account = self._account(options["external_id"], options["partner"])
        connectors = self._connectors(account, options["connector"])
        if not 1 <= options["expires"] <= MAX_MINUTES:
            raise CommandError(f"--expires must be between 1 and {MAX_MINUTES} minutes.")
        try:
            link, token = links.create_link(
                account=account, connectors=connectors,
                expires_in=timedelta(minutes=options["expires"]),
                return_url=options["return_url"], actor_label="create_install_link command",
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(links.link_url(token))
        self.stderr.write(f"Expires {link.expires_at:%Y-%m-%d %H:%M} UTC; offers "
                          f"{', '.join(c.slug for c in connectors)}.")

    def _account(self, external_id: str, partner_slug: str | None) -> Account:
        accounts = Account.objects.filter(external_id=external_id).select_related("partner")
        if partner_slug:
            accounts = accounts.filter(partner__slug=partner_slug)
        found = list(accounts[:2])
        if not found:
            where = f" at partner {partner_slug!r}" if partner_slug else ""
            raise CommandError(f"No account with external id {external_id!r}{where}.")
        if len(found) > 1:
            raise CommandError(f"External id {external_id!r} exists at several partners; "
                               "choose one with --partner SLUG.")
        return found[0]

    def _connectors(self, account: Account, slugs: list[str]) -> list[Connector]:
        configured = {c.slug: c for c in links.configured_connectors(account.partner)}
        if not slugs:
            if not configured:
                raise CommandError(f"{account.partner} has no configured connector: save a "
                                   "connector's Authentication Settings first.")
            return sorted(configured.values(), key=lambda c: c.name)
        unknown = [slug for slug in slugs if slug not in configured]
        if unknown:
            raise CommandError(f"Unknown or not configured connector: {', '.join(unknown)}.")
        return [configured[slug] for slug in dict.fromkeys(slugs)]
