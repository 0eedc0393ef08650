"""Demo data for a new user: a partner, its admin, an account and the sandbox wired up.

Idempotent: run it again and it reuses what exists (the admin gets a new password).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Membership, Partner, User
from connectors.models import Connector, PartnerAuthSettings
from connectors.services import callback_url
from sandbox import apps_flow, services
from sandbox.models import SandboxUser

DEMO_EMAIL = "admin@demo.example"
SANDBOX_USER = "demo-user"
# Sandbox demo values the person types at install (the sandbox is a local fake).
SANDBOX_PASSWORD = "sandbox-demo-password"
SANDBOX_API_KEY = "sandbox-demo-api-key"


class Command(BaseCommand):
    help = "Create demo data: partner, admin, account, sandbox clients and settings."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("seed_demo needs SANDBOX_ENABLED=true (the demo uses the sandbox).")
        if not Connector.objects.filter(slug="sandbox-oauth2").exists():
            raise CommandError("Run `manage.py sync_connectors` first.")
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            partner, _ = Partner.objects.get_or_create(
                slug="demo",
                defaults={"name": "Demo Partner", "display_name": "Demo Partner",
                          "primary_colour": "#0b7a75", "support_email": "support@demo.example",
                          "allowed_return_origins": [settings.PUBLIC_URL]},
            )
            user = User.objects.filter(email=DEMO_EMAIL).first() or User(email=DEMO_EMAIL)
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(
                user=user, partner=partner, defaults={"role": Membership.Role.ADMIN}
            )
            Account.objects.get_or_create(partner=partner, external_id="cust-001",
                                          defaults={"name": "Northwind Traders"})
            self._sandbox(partner, user)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Console:   {settings.PUBLIC_URL}/")
        self.stdout.write(f"  Log in:    {DEMO_EMAIL} / {password}")
        if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
            self.stdout.write("  Email:     invitations and password resets are printed on the "
                              "server's console (EMAIL_URL)")
        self.stdout.write(f"  Sandbox:   user {SANDBOX_USER!r}, password {SANDBOX_PASSWORD!r}, "
                          f"API key {SANDBOX_API_KEY!r} (Basic, API key, two-step installs)")

    def _sandbox(self, partner: Partner, user: User) -> None:
        if not SandboxUser.objects.filter(username=SANDBOX_USER).exists():
            services.create_user(username=SANDBOX_USER, password=SANDBOX_PASSWORD,
                                 api_key=SANDBOX_API_KEY)
        for slug, kind, id_key, secret_key in (
            ("sandbox-oauth2", "oauth2", "client_id", "client_secret"),
            ("sandbox-client-credentials", "oauth2", "client_id", "client_secret"),
            ("sandbox-oauth1", "oauth1", "consumer_key", "consumer_secret"),
        ):
            connector = Connector.objects.get(slug=slug)
            existing = PartnerAuthSettings.objects.filter(partner=partner, connector=connector)
            if existing.filter(saved_at__isnull=False).exists():
                continue
            client_id, client_secret = services.register_client(
                name=f"Demo Partner ({connector.name})", redirect_uri=callback_url(slug), kind=kind
            )
            PartnerAuthSettings.objects.update_or_create(
                partner=partner, connector=connector,
                defaults={"values": {id_key: client_id},
                          "secret_values": {secret_key: client_secret},
                          "saved_at": timezone.now(), "saved_by": user},
            )
        # API key, Basic and two-step have nothing at partner level: saving marks them configured,
        # so install links offer them too (the customer enters the key or the login).
        for slug in ("sandbox-api-key", "sandbox-basic", "sandbox-two-step"):
            PartnerAuthSettings.objects.get_or_create(
                partner=partner, connector=Connector.objects.get(slug=slug),
                defaults={"saved_at": timezone.now(), "saved_by": user},
            )
        self._github_app(partner, user)
        partner.auth_settings_changed()  # the library's padlocks close (as Save Changes does)

    def _github_app(self, partner: Partner, user: User) -> None:
        """A sandbox app registered with the GitHub-style connector's Callback URL as its setup
        URL, authorizing its installers, and its id, slug, private key and OAuth client saved
        (the key exists only there, encrypted)."""
        slug = "sandbox-github-app"
        connector = Connector.objects.catalogue().get(slug=slug)
        existing = PartnerAuthSettings.objects.filter(partner=partner, connector=connector)
        if existing.filter(saved_at__isnull=False).exists():
            return
        app, private_key = apps_flow.register_app(
            name="Demo Partner app", slug=f"demo-partner-{secrets.token_hex(3)}",
            setup_url=callback_url(slug))
        client_id, client_secret = apps_flow.authorize_installers(app)
        PartnerAuthSettings.objects.update_or_create(
            partner=partner, connector=connector,
            defaults={"values": {"app_id": str(app.pk), "app_slug": app.slug,
                                 "client_id": client_id},
                      "secret_values": {"private_key": private_key,
                                        "client_secret": client_secret},
                      "saved_at": timezone.now(), "saved_by": user},
        )
