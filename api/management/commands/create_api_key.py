"""`manage.py create_api_key --partner SLUG --name NAME --scopes manage,proxy,configure`.

Scopes: manage, credentials, proxy, configure (connectors and Authentication Settings).

Prints the new key alone on standard output (so `KEY=$(manage.py create_api_key …)` works);
it is shown this once and audited like a key created in the console.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Partner
from api import services
from api.models import Scope


class Command(BaseCommand):
    help = "Create a partner API key and print it (only) on standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="The partner's slug.")
        parser.add_argument("--name", required=True, help="The key's name, e.g. \"Backend\".")
        parser.add_argument("--scopes", required=True,
                            help=f"Comma-separated: {', '.join(Scope.values)}.")

    def handle(self, *args: Any, **options: Any) -> None:
        partner = Partner.objects.filter(slug=options["partner"]).first()
        if partner is None:
            raise CommandError(f"No partner with the slug {options['partner']!r}.")
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("The name must have 1 to 100 characters.")
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        unknown = sorted(set(scopes) - set(Scope.values))
        if unknown or not scopes:
            raise CommandError(f"Unknown or no scopes {unknown}; choose from "
                               f"{', '.join(Scope.values)}.")
        _, token = services.create_key(partner=partner, name=name, scopes=scopes, actor=None,
                                       actor_label="create_api_key command")
        self.stdout.write(token)
