"""`manage.py create_webhook_endpoint --partner SLUG --url URL [--events TYPE,…]`: add an
endpoint and print its signing secret, alone, on standard output (for scripts)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Partner
from webhooks import services
from webhooks.forms import EndpointForm


class Command(BaseCommand):
    help = "Add a webhook endpoint to a partner; prints its signing secret alone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="The partner's slug.")
        parser.add_argument("--url", required=True, help="The endpoint's https URL.")
        parser.add_argument("--events", default="",
                            help="Comma-separated event types (default: all).")
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, partner: str, url: str, events: str, description: str,
               **options: Any) -> None:
        found = Partner.objects.filter(slug=partner).first()
        if found is None:
            raise CommandError(f"No partner with the slug {partner!r}.")
        form = EndpointForm({"url": url, "description": description,
                             "event_types": [e.strip() for e in events.split(",") if e.strip()]},
                            creating=True)
        if not form.is_valid():
            problems = "; ".join(f"{name}: {' '.join(str(e) for e in errors)}"
                                 for name, errors in form.errors.items())
            raise CommandError(problems)
        try:
            _, secret = services.create_endpoint(
                partner=found, url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"],
                actor_label="create_webhook_endpoint")
        except services.TooManyEndpoints as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(secret)
