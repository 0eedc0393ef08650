"""Factories and helpers shared by the tests: sandbox and fake connectors with the
partner's settings saved, accounts, install links, and a browser-less walk through the
sandbox's consent page with Django's test client."""

from __future__ import annotations

import io
import logging
import tomllib
from datetime import timedelta
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client
from django.utils import timezone

from accounts.models import Account, Membership, Partner, User
from audit.models import AuditEvent
from config.log_scrub import ScrubSecretsFilter
from connectors.models import Catalogue, Connector, PartnerAuthSettings
from connectors.spec import CATALOG_DIR, CatalogError, validate
from connectors.sync import is_example, needs_partner_settings
from installs.models import Install
from links import services as links
from links.models import InstallLink
from tests.fake_provider import HOST
from webhooks import relay
from webhooks.models import WebhookDelivery

CALLBACK = "http://testserver/connectors/callback"  # shared by all, before issue 19 item 10


def callback_for(slug: str, base: str = "http://testserver") -> str:
    """A connector's own callback URL (PUBLIC_URL is http://testserver in tests)."""
    return f"{base}/connectors/{slug}/callback"


PASSWORD = "correct-horse-battery-staple-test"


def make_member(partner: Partner, email: str, role: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD)
    # Working in that partner, as the login (teams.members.after_login) would choose.
    user.current_membership = Membership.objects.create(user=user, partner=partner, role=role)
    user.save(update_fields=["current_membership"])
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_connector(slug: str, data: dict[str, Any]) -> Connector:
    """A Connector row from catalogue data (validated exactly like a catalogue file)."""
    data = validate(f"{slug}.toml", slug, data)
    connector = Connector.objects.create(
        slug=slug, name=data["name"], description=data["description"],
        category_names=data.get("categories", []), auth_type=data["auth"]["type"],
        spec_data=data, search_text=data["name"].lower(),
        needs_partner_settings=needs_partner_settings(data), is_example=is_example(data),
    )
    Catalogue.changed()  # as a sync would
    return connector


def raw_value(instance: Any, field_name: str) -> bytes | None:
    """The stored bytes of one column, read with SQL (no decryption on the way)."""
    from django.db import connection

    meta = instance._meta
    column = meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "{column}" FROM "{meta.db_table}" WHERE "{meta.pk.column}" = %s',
            [instance.pk],
        )
        value = cursor.fetchone()[0]
    return None if value is None else bytes(value)


def write_raw_value(instance: Any, field_name: str, value: bytes) -> None:
    """Overwrite one column's stored bytes with SQL (to simulate tampering)."""
    from django.db import connection

    meta = instance._meta
    column = meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{meta.db_table}" SET "{column}" = %s WHERE "{meta.pk.column}" = %s',
            [value, instance.pk],
        )


def capture_console(monkeypatch: pytest.MonkeyPatch, formatter: logging.Formatter) -> io.StringIO:
    """Make the settings' console handler, its filters included, write to a buffer."""
    handler = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, ScrubSecretsFilter) for f in h.filters))
    buffer = io.StringIO()
    monkeypatch.setattr(handler, "stream", buffer)
    monkeypatch.setattr(handler, "formatter", formatter)
    return buffer


def catalogue_connector(slug: str) -> Connector:
    """One real catalogue entry as a Connector row (without syncing all of them)."""
    existing = Connector.objects.filter(slug=slug).first()
    if existing:
        return existing
    return make_connector(slug, tomllib.loads((CATALOG_DIR / f"{slug}.toml").read_text()))


def save_settings(partner: Partner, connector: Connector, values: dict[str, str] | None = None,
                  secret_values: dict[str, str] | None = None) -> PartnerAuthSettings:
    return PartnerAuthSettings.objects.create(
        partner=partner, connector=connector, values=values or {},
        secret_values=secret_values or {}, saved_at=timezone.now())


def sandbox_oauth2(partner: Partner, *, require_pkce: bool = True) -> Connector:
    """The "Sandbox (OAuth 2.0)" connector with a registered sandbox client saved."""
    from sandbox.services import register_client

    connector = catalogue_connector("sandbox-oauth2")
    client_id, secret = register_client(name=f"{partner.name} app",
                                        redirect_uri=callback_for(connector.slug),
                                        require_pkce=require_pkce)
    save_settings(partner, connector, {"client_id": client_id}, {"client_secret": secret})
    return connector


def sandbox_oauth1(partner: Partner) -> Connector:
    from sandbox.services import register_client

    connector = catalogue_connector("sandbox-oauth1")
    key, secret = register_client(name=f"{partner.name} app",
                                  redirect_uri=callback_for(connector.slug), kind="oauth1")
    save_settings(partner, connector, {"consumer_key": key}, {"consumer_secret": secret})
    return connector


def sandbox_client_credentials(partner: Partner) -> Connector:
    from sandbox.services import register_client

    connector = catalogue_connector("sandbox-client-credentials")
    client_id, secret = register_client(name=f"{partner.name} machine",
                                        redirect_uri=callback_for(connector.slug))
    save_settings(partner, connector, {"client_id": client_id}, {"client_secret": secret})
    return connector


def new_install(account: Account, connector: Connector, **fields: Any) -> Install:
    return Install.objects.create(account=account, connector=connector, **fields)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def authenticate(client: Client, install: Install) -> str:
    """POST "Authenticate"; return the provider URL it redirects to."""
    response = client.post(install_path(install, "authenticate"))
    assert response.status_code == 302, response.status_code
    return response["Location"]


def consent(client: Client, provider_url: str, decision: str = "allow") -> str:
    """Show the sandbox consent page, press Allow or Deny; return the callback URL."""
    page = client.get(path_and_query(provider_url))
    assert page.status_code == 200, page.content[:500]
    assert b"Allow" in page.content and b"Deny" in page.content
    response = client.post(path_and_query(provider_url), {"decision": decision})
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.startswith("http://testserver/connectors/"), location
    assert "/callback?" in location, location
    return location


def install_path(install: Install, action: str = "") -> str:
    """The console path of an install's page or of one of its actions."""
    base = f"/accounts/{install.account_id}/installs/{install.pk}/"
    return f"{base}{action}/" if action else base


# --- fake providers with canned responses (tests/fake_provider.py) -------------------

CLIENT_SECRET = "fake-client-secret-sec-123"
CONSUMER_SECRET = "fake-consumer-secret-sec-123"
TOKEN_URL = f"{HOST}/token"
TOKEN_JSON = {"access_token": "fake-access-sec-1", "refresh_token": "fake-refresh-sec-1",
              "token_type": "Bearer", "expires_in": 3600}



def fake_oauth2_connector(partner) -> Connector:
    connector = make_connector("fake-oauth2", {
        "name": "Fake OAuth", "description": "A fake OAuth 2.0 provider.",
        "auth": {"type": "oauth2", "authorize_url": f"{HOST}/authorize", "token_url": TOKEN_URL,
                 "revoke_url": f"{HOST}/revoke"},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True}],
    })
    save_settings(partner, connector, {"client_id": "fake-client-id"},
                  {"client_secret": CLIENT_SECRET})
    return connector


def fake_oauth1_connector(partner) -> Connector:
    connector = make_connector("fake-oauth1", {
        "name": "Fake OAuth1", "description": "A fake OAuth 1.0a provider.",
        "auth": {"type": "oauth1", "request_token_url": f"{HOST}/request_token",
                 "authorize_url": f"{HOST}/authorize", "access_token_url": f"{HOST}/access_token"},
        "fields": [{"key": "consumer_key", "label": "Consumer Key"},
                   {"key": "consumer_secret", "label": "Consumer Secret", "secret": True}],
    })
    save_settings(partner, connector, {"consumer_key": "fake-consumer-key"},
                  {"consumer_secret": CONSUMER_SECRET})
    return connector


# --- install links -----------------------------------------------------------------


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


def configure_sandbox(partner: Partner, *, base: str = "http://testserver") -> None:
    """Sandbox OAuth 2.0 client registered (with the connector's callback URL on the server
    at `base`) and saved as the partner's settings; the API-key connector saved as
    configured (it has no partner-level fields). Needs the catalogue."""
    from sandbox import services as sandbox
    from sandbox.models import SandboxUser

    client_id, client_secret = sandbox.register_client(
        name="Acme integration", redirect_uri=callback_for("sandbox-oauth2", base))
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
    cookie = client.cookies.get(settings.CUSTOMER_SESSION_COOKIE_NAME)
    session = import_module(settings.SESSION_ENGINE).SessionStore(cookie.value if cookie else None)
    if cookie is None:
        session.save()
        client.cookies[settings.CUSTOMER_SESSION_COOKIE_NAME] = session.session_key
    return session


def assert_nothing_written(events_before: int) -> None:
    """A refused change left nothing: no install, no audit event, and so (once relayed) no
    webhook delivery."""
    assert not Install.objects.exists()
    assert AuditEvent.objects.count() == events_before
    relay.relay_pass()
    assert not WebhookDelivery.objects.exists()


def catalogue_refusal(data: dict[str, Any]) -> str:
    """The message with which the catalogue refuses the entry `data` (it must refuse it)."""
    with pytest.raises(CatalogError) as caught:
        validate("t.toml", "t", data)
    return str(caught.value)
