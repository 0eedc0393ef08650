"""Shared helpers for install-link tests: configured connectors, accounts and links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client
from django.utils import timezone

from accounts.models import Account, Partner
from connectors.models import Connector, PartnerAuthSettings
from links import services as links
from links.models import InstallLink
from tests.conftest import make_connector


def oauth2_data(name: str) -> dict[str, Any]:
    return {
        "name": name, "description": f"{name} for tests.", "categories": ["CRM"],
        "auth": {"type": "oauth2", "authorize_url": "https://auth.example.com/authorize",
                 "token_url": "https://auth.example.com/token"},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True}],
    }


def api_key_data(name: str) -> dict[str, Any]:
    return {
        "name": name, "description": f"{name} for tests.", "categories": ["Support"],
        "auth": {"type": "api_key", "header": "X-API-Key"},
        "fields": [{"key": "api_key", "label": "API key", "level": "account", "secret": True}],
    }


def configure(partner: Partner, connector: Connector, **values: str) -> PartnerAuthSettings:
    """Save the partner's Authentication Settings for a connector (closes the padlock)."""
    return PartnerAuthSettings.objects.create(
        partner=partner, connector=connector, values={"client_id": "fake-client-id", **values},
        secret_values={"client_secret": "fake-client-secret-123"}, saved_at=timezone.now())


def connector(slug: str, name: str, partner: Partner | None = None, *, kind: str = "oauth2"
              ) -> Connector:
    data = oauth2_data(name) if kind == "oauth2" else api_key_data(name)
    row = make_connector(slug, data)
    if partner is not None:
        configure(partner, row)
    return row


def account(partner: Partner, name: str = "Initech", external_id: str = "cust-1") -> Account:
    return Account.objects.create(partner=partner, name=name, external_id=external_id)


def make_link(account: Account, connectors: list[Connector], **kwargs: Any
              ) -> tuple[InstallLink, str]:
    return links.create_link(account=account, connectors=connectors, **kwargs)


def expire(link: InstallLink) -> None:
    InstallLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))


def configure_sandbox(partner: Partner, *, callback: str) -> None:
    """Sandbox OAuth 2.0 client registered and saved as the partner's settings; the API-key
    connector saved as configured (it has no partner-level fields). Needs the catalogue."""
    from sandbox import services as sandbox
    from sandbox.models import SandboxUser

    client_id, client_secret = sandbox.register_client(name="Acme integration",
                                                       redirect_uri=callback)
    PartnerAuthSettings.objects.create(
        partner=partner, connector=Connector.objects.get(slug="sandbox-oauth2"),
        values={"client_id": client_id}, secret_values={"client_secret": client_secret},
        saved_at=timezone.now())
    PartnerAuthSettings.objects.create(
        partner=partner, connector=Connector.objects.get(slug="sandbox-api-key"),
        saved_at=timezone.now())
    if not SandboxUser.objects.exists():
        sandbox.create_user(username="sandy", password="fake-password-123",
                            api_key="fake-api-key-123")


def customer_session(client: Client) -> SessionBase:
    """The test browser's customer-page session (core/sessions.py), made if it has none:
    what `client.session` is for the console."""
    from importlib import import_module

    cookie = client.cookies.get(settings.CUSTOMER_SESSION_COOKIE_NAME)
    session = import_module(settings.SESSION_ENGINE).SessionStore(cookie.value if cookie else None)
    if cookie is None:
        session.save()
        client.cookies[settings.CUSTOMER_SESSION_COOKIE_NAME] = session.session_key
    return session
