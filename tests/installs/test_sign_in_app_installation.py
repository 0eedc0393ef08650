"""`type = "app_installation"` (issue 21 §4) end to end against the sandbox's GitHub-style
app: the private key checked on save, the customer's install and return with
`installation_id` and `state`, authenticated, verified, credentials, proxy, renewal by the
worker, revocation -- and every refusal, with nothing half-saved and no private key, app
JWT or installation token in a page, log line, audit event or webhook."""

from __future__ import annotations

import json
import logging
import tomllib
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from connectors.auth.keys import load_private_key
from connectors.models import Connector, PartnerAuthSettings
from installs import refresh
from installs.models import AuthAttempt, Install
from installs.removal import deauthenticate
from sandbox import apps_flow
from sandbox.models import SandboxApp, SandboxInstallation
from tests.api.helpers import bearer, call, make_key
from tests.factories import (
    authenticate,
    callback_for,
    catalogue_connector,
    install_path,
    new_install,
    path_and_query,
    query,
    save_settings,
)
from tests.fake_provider import install_fake
from tests.installs.conftest import worker_pass
from webhooks import relay
from webhooks import services as webhook_services
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

SLUG = "sandbox-github-app"
STALE = "This sign-in link is no longer valid"


@pytest.fixture
def app() -> tuple[SandboxApp, str]:
    return apps_flow.register_app(name="Acme app", slug="acme-app", setup_url=callback_for(SLUG))


@pytest.fixture
def installer_client(app) -> tuple[str, str]:
    """The app's OAuth client: installing also authorizes the installer (a `code`)."""
    return apps_flow.authorize_installers(app[0])


@pytest.fixture
def connector(partner, app, installer_client, sandbox_transport) -> Connector:
    sandbox_app, private_key = app
    client_id, client_secret = installer_client
    connector = catalogue_connector(SLUG)
    save_settings(partner, connector, {"app_id": str(sandbox_app.pk), "app_slug": sandbox_app.slug,
                                       "client_id": client_id},
                  {"private_key": private_key, "client_secret": client_secret})
    return connector


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def install(account, connector) -> Install:
    return new_install(account, connector, name="Initech repos")


def install_at_provider(client: Client, provider_url: str) -> str:
    """Show the sandbox's install page, press Install; return the callback URL it sends to."""
    page = client.get(path_and_query(provider_url))
    assert page.status_code == 200 and b"Install" in page.content
    response = client.post(path_and_query(provider_url), {"decision": "install"})
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def connect(client: Client, install: Install) -> Any:
    return client.get(path_and_query(install_at_provider(client, authenticate(client, install))))


# --- the private key on save -------------------------------------------------------------


def settings_url() -> str:
    return reverse("connectors:settings", args=[SLUG])


def ec_pem() -> str:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


@pytest.mark.parametrize("value, message", [
    ("-----BEGIN PRIVATE KEY-----\nZmFrZS1rZXk=\n-----END PRIVATE KEY-----", "could not be read"),
    ("fake-not-a-pem", "in PEM format"),
    (ec_pem(), "needs an RSA private key")])
def test_a_bad_private_key_is_a_field_error_and_nothing_is_saved(admin_client, partner, value,
                                                                  message, sandbox_transport):
    catalogue_connector(SLUG)
    events = AuditEvent.objects.count()
    response = admin_client.post(settings_url(), {"app_id": "7", "app_slug": "acme-app",
                                                  "private_key": value})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert value not in html and "ZmFrZS1rZXk" not in html
    assert not PartnerAuthSettings.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_good_private_key_is_saved_encrypted_and_never_shown(admin_client, partner, app):
    _, private_key = app
    catalogue_connector(SLUG)
    response = admin_client.post(settings_url(), {"app_id": "7", "app_slug": "acme-app",
                                                  "private_key": private_key})
    assert response.status_code == 302, response.content.decode()[:2000]
    row = PartnerAuthSettings.objects.get()
    assert row.secret_values == {"private_key": load_private_key(private_key, "RS256").decode()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_values FROM connectors_partnerauthsettings WHERE id = %s",
                       [row.pk])
        raw = bytes(cursor.fetchone()[0])
    assert b"PRIVATE KEY" not in raw
    page = admin_client.get(settings_url()).content.decode()
    assert "<textarea" in page and "Saved" in page
    assert private_key.splitlines()[1] not in page
    event = AuditEvent.objects.get(action="settings.saved")
    assert event.detail == {"fields": ["app_id", "app_slug", "private_key"]}


def test_the_api_refuses_a_bad_private_key_too(partner):
    catalogue_connector(SLUG)
    cache.clear()
    api = bearer(make_key(partner)[1])
    code, body = call(api, "put", f"/api/v1/connectors/{SLUG}/settings",
                      {"values": {"app_id": "7", "app_slug": "a", "private_key": ec_pem()}})
    assert code == 422 and "needs an RSA private key" in json.dumps(body)
    assert not PartnerAuthSettings.objects.exists()


# --- sign-in end to end --------------------------------------------------------------------


def test_authenticate_sends_the_customer_to_the_install_page_with_the_state(admin_client,
                                                                            install):
    url = authenticate(admin_client, install)
    attempt = AuthAttempt.objects.get(install=install)
    assert url == (f"http://testserver/sandbox/apps/acme-app/installations/new"
                   f"?state={attempt.state}")


def test_install_authenticates_verifies_and_stores_the_installation(admin_client, install,
                                                                    sandbox_transport):
    response = connect(admin_client, install)
    assert response.status_code == 302 and response["Location"] == install_path(install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    installation = SandboxInstallation.objects.get()
    assert install.values["installation_id"] == str(installation.pk)
    token = install.credentials["access_token"]
    assert set(install.credentials) == {"access_token"}
    assert apps_flow.installation_token(token) is not None
    assert install.expires_at is not None
    assert timedelta(minutes=55) < install.expires_at - timezone.now() <= timedelta(hours=1)
    assert any(c.url.endswith("/sandbox/api/me") for c in sandbox_transport.calls)  # verified
    attempt = AuthAttempt.objects.get(install=install)
    assert attempt.used_at is not None
    page = admin_client.get(install_path(install)).content.decode()
    assert "Authenticated" in page and token not in page


@pytest.fixture
def connected(admin_client, install) -> Install:
    connect(admin_client, install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    return install


def test_credentials_and_proxy_carry_the_installation_token(partner, connected):
    cache.clear()
    api = bearer(make_key(partner)[1])
    code, body = call(api, "get", f"/api/v1/installs/{connected.pk}/credentials")
    assert code == 200
    assert body["credentials"] == {"access_token": connected.credentials["access_token"]}
    response = api.get(f"/api/v1/proxy/{connected.pk}/me")
    assert response.status_code == 200
    answer = json.loads(b"".join(response.streaming_content))
    assert answer["auth"] == "app_installation"
    assert answer["installation"] == f"installation:{connected.values['installation_id']}"


def make_due(install: Install) -> None:
    Install.objects.filter(pk=install.pk).update(
        expires_at=timezone.now() + timedelta(seconds=30), next_refresh_at=None)


def test_the_worker_renews_the_installation_token_before_expiry(connected):
    old = connected.credentials["access_token"]
    make_due(connected)
    assert worker_pass() == refresh.REFRESHED
    connected.refresh_from_db()
    new = connected.credentials["access_token"]
    assert new != old and apps_flow.installation_token(new) is not None
    assert connected.expires_at > timezone.now() + timedelta(minutes=55)
    assert connected.status == Install.Status.AUTHENTICATED


def test_deauthenticating_revokes_the_installation_token(connected):
    token = connected.credentials["access_token"]
    deauthenticate(install=connected, actor=None)
    connected.refresh_from_db()
    assert connected.status == Install.Status.DEAUTHENTICATED
    assert apps_flow.installation_token(token) is None  # revoked at the sandbox


# --- refusals -------------------------------------------------------------------------------


def test_a_callback_without_state_is_refused(admin_client, install):
    authenticate(admin_client, install)
    response = admin_client.get(f"/connectors/{SLUG}/callback?installation_id=1"
                                "&setup_action=install")
    assert response.status_code == 400 and STALE in response.content.decode()
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and not install.credentials


def test_a_forged_state_is_refused(admin_client, install, sandbox_transport):
    callback = install_at_provider(admin_client, authenticate(admin_client, install))
    params = query(callback)
    forged = f"/connectors/{SLUG}/callback?installation_id={params['installation_id']}" \
             "&setup_action=install&state=fake-forged-state"
    response = admin_client.get(forged)
    assert response.status_code == 400
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and not install.credentials
    assert apps_flow.issued_installation_tokens() == 0


def test_a_state_is_single_use(admin_client, install):
    callback = install_at_provider(admin_client, authenticate(admin_client, install))
    assert admin_client.get(path_and_query(callback)).status_code == 302
    again = admin_client.get(path_and_query(callback))
    assert again.status_code == 400 and STALE in again.content.decode()


def test_a_state_from_another_browser_is_refused(admin_client, alice, install):
    callback = install_at_provider(admin_client, authenticate(admin_client, install))
    other = Client()
    other.force_login(alice)
    assert other.get(path_and_query(callback)).status_code == 400
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING


def test_a_non_numeric_installation_id_is_refused(admin_client, install):
    authenticate(admin_client, install)
    state = AuthAttempt.objects.get(install=install).state
    response = admin_client.get(f"/connectors/{SLUG}/callback?installation_id=12abc"
                                f"&setup_action=install&state={state}")
    assert response.status_code == 400
    assert "not a number" in response.content.decode()
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and not install.credentials
    assert "installation_id" not in install.values
    assert apps_flow.issued_installation_tokens() == 0


def test_another_persons_installation_is_refused(admin_client, install, app):
    """The spoofed installation_id GitHub warns of: the installer's user token does not list
    it, so the sign-in stops before any installation token is bought."""
    from sandbox.models import SandboxUser
    from sandbox.services import acting_user

    acting_user()  # the sandbox installs as its first user; the victim is another
    someone_else = apps_flow.install(app[0], SandboxUser.objects.create(username="victim"))
    callback = install_at_provider(admin_client, authenticate(admin_client, install))
    own = query(callback)["installation_id"]
    spoofed = path_and_query(callback).replace(f"installation_id={own}",
                                               f"installation_id={someone_else.pk}")
    response = admin_client.get(spoofed)
    assert response.status_code == 400
    assert "not one the person who installed the app can access" in response.content.decode()
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and not install.credentials
    assert "installation_id" not in install.values
    assert apps_flow.issued_installation_tokens() == 0


def test_a_return_without_the_installers_code_is_refused(admin_client, install):
    callback = install_at_provider(admin_client, authenticate(admin_client, install))
    params = query(callback)
    response = admin_client.get(f"/connectors/{SLUG}/callback?installation_id="
                                f"{params['installation_id']}&setup_action=install"
                                f"&state={params['state']}")
    assert response.status_code == 400
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and not install.credentials
    assert apps_flow.issued_installation_tokens() == 0


def test_an_exchange_refused_with_401_fails_the_sign_in(admin_client, install, app):
    """The app's key at the provider is no longer the one saved: the JWT does not verify."""
    sandbox_app, _ = app
    sandbox_app.public_key = apps_flow.new_key_pair()[1]
    sandbox_app.save()
    response = connect(admin_client, install)
    assert response.status_code == 200
    assert "no longer accepts this app installation (HTTP 401)" in response.content.decode()
    install.refresh_from_db()
    assert install.status != Install.Status.AUTHENTICATED and not install.credentials
    assert "installation_id" not in install.values


def test_an_exchange_answering_500_fails_the_sign_in_with_a_retry(admin_client, install,
                                                                 monkeypatch, settings):
    callback = install_at_provider(admin_client, authenticate(admin_client, install))
    fake = install_fake(monkeypatch)
    installation_id = query(callback)["installation_id"]
    sandbox = f"{settings.PUBLIC_URL}/sandbox"
    fake.add("POST", f"{sandbox}/login/oauth/access_token",  # the installer check passes
             json_body={"access_token": "fake-user-token", "token_type": "bearer"})
    fake.add("GET", f"{sandbox}/user/installations",
             json_body={"installations": [{"id": int(installation_id)}]})
    fake.add("POST", f"{sandbox}/app/installations/{installation_id}/access_tokens",
             status=500, text="boom")
    response = admin_client.get(path_and_query(callback))
    assert "unavailable (HTTP 500)" in response.content.decode()
    install.refresh_from_db()
    assert install.status != Install.Status.AUTHENTICATED and not install.credentials


def test_an_uninstalled_app_requires_reauthentication(connected):
    apps_flow.uninstall(SandboxInstallation.objects.get())
    make_due(connected)
    assert worker_pass() == refresh.REAUTH_REQUIRED  # the exchange answers 404
    connected.refresh_from_db()
    assert connected.status == Install.Status.REAUTH_REQUIRED


def test_a_revoked_app_key_requires_reauthentication(connected, app):
    sandbox_app, _ = app
    SandboxApp.objects.filter(pk=sandbox_app.pk).update(public_key=apps_flow.new_key_pair()[1])
    make_due(connected)
    assert worker_pass() == refresh.REAUTH_REQUIRED  # the exchange answers 401
    connected.refresh_from_db()
    assert connected.status == Install.Status.REAUTH_REQUIRED


def test_a_500_at_renewal_is_refresh_failing(connected, monkeypatch, settings):
    fake = install_fake(monkeypatch)
    fake.add("POST", f"{settings.PUBLIC_URL}/sandbox/app/installations/"
                     f"{connected.values['installation_id']}/access_tokens",
             status=500, text="boom")
    before = dict(connected.credentials)
    make_due(connected)
    assert worker_pass() == refresh.FAILING
    connected.refresh_from_db()
    assert connected.status == Install.Status.REFRESH_FAILING
    assert connected.credentials == before


# --- nothing leaks --------------------------------------------------------------------------


def test_no_private_key_jwt_or_token_in_pages_logs_audit_or_webhooks(
        admin_client, partner, install, app, sandbox_transport, caplog):
    caplog.set_level(logging.DEBUG)
    webhook_services.create_endpoint(partner=partner, url="https://hooks.example.com/in")
    _, private_key = app
    connect(admin_client, install)
    install.refresh_from_db()
    make_due(install)
    assert worker_pass() == refresh.REFRESHED
    install.refresh_from_db()
    jwts = [c.headers["Authorization"].split(" ", 1)[1] for c in sandbox_transport.calls
            if c.url.endswith("/access_tokens")]
    tokens = [c.headers["Authorization"].split(" ", 1)[1] for c in sandbox_transport.calls
              if c.url.endswith("/sandbox/api/me")]
    user_tokens = [c.headers["Authorization"].split(" ", 1)[1] for c in sandbox_transport.calls
                   if "/sandbox/user/installations" in c.url]
    assert len(jwts) == 2 and tokens and user_tokens
    deauthenticate(install=install, actor=None)
    relay.relay_pass()
    client_secret = PartnerAuthSettings.objects.get().secret_values["client_secret"]
    secrets = [private_key.splitlines()[1], *jwts, *tokens, *user_tokens, client_secret]
    pages = "".join(admin_client.get(path).content.decode() for path in (
        install_path(install), settings_url(), reverse("connectors:library")))
    events = json.dumps([e.detail for e in AuditEvent.objects.all()], default=str)
    webhooks = "".join(e.body for e in WebhookEvent.objects.all())
    assert WebhookEvent.objects.exists()
    for secret in secrets:
        assert secret not in pages
        assert secret not in caplog.text
        assert secret not in events
        assert secret not in webhooks


# --- the customer, through an install link; the key asked at install ----------------------


def test_a_customer_installs_the_app_through_an_install_link(client, partner, connector):
    from links.models import InstallLink
    from tests.factories import account as make_account
    from tests.factories import make_link

    link, token = make_link(make_account(partner), [connector])
    client.get(reverse("install:landing", args=[token]))
    start = client.post(reverse("install:connect", args=[token, SLUG]))
    assert start.status_code == 302
    assert start["Location"].startswith("http://testserver/sandbox/apps/acme-app/installations/")
    back = install_at_provider(client, start["Location"])
    assert back.startswith(f"http://testserver/connectors/{SLUG}/callback?")
    assert {"code", "installation_id", "setup_action", "state"} == set(query(back))
    callback = client.get(path_and_query(back))
    assert callback.status_code == 302 and callback["Location"] == reverse("install:result")
    assert "<h1>Connected</h1>" in client.get(callback["Location"]).content.decode()
    install = Install.objects.get()
    assert install.status == Install.Status.AUTHENTICATED
    assert install.values["installation_id"] == str(SandboxInstallation.objects.get().pk)
    assert InstallLink.objects.get(pk=link.pk).use_count == 1


def test_a_key_left_blank_by_the_partner_is_asked_and_checked_at_install(admin_client, account,
                                                                        app, installer_client):
    sandbox_app, private_key = app
    connector = catalogue_connector(SLUG)
    save_settings(partner=account.partner, connector=connector,
                  values={"app_id": str(sandbox_app.pk), "app_slug": sandbox_app.slug,
                          "client_id": installer_client[0]},
                  secret_values={"client_secret": installer_client[1]})
    url = f"/accounts/{account.pk}/install/{SLUG}/"
    page = admin_client.get(url).content.decode()
    assert '<textarea name="private_key"' in page
    refused = admin_client.post(url, {"install_name": "Repos", "private_key": ec_pem()})
    assert refused.status_code == 200 and "needs an RSA private key" in refused.content.decode()
    assert not Install.objects.exists()
    created = admin_client.post(url, {"install_name": "Repos", "private_key": private_key})
    assert created.status_code == 302
    kept = load_private_key(private_key, "RS256").decode()  # a clean PEM, however pasted
    assert Install.objects.get().secret_values == {"private_key": kept}


# --- a partner's custom connector of this type (issue 20 §1) ------------------------------


def test_a_custom_connector_can_be_an_app_installation(client, partner, sandbox_transport):
    """The sandbox entry's definition, posted as a partner's own connector: its settings
    refuse a bad key like a catalogue entry's, and a customer installs the app through it."""
    from connectors.spec import CATALOG_DIR
    from tests.factories import account as make_account
    from tests.factories import make_link

    slug = "acme-github-app"
    definition = tomllib.loads((CATALOG_DIR / f"{SLUG}.toml").read_text())
    del definition["categories"]  # "Sandbox" is no category a partner may use
    cache.clear()
    api = bearer(make_key(partner)[1])
    code, body = call(api, "post", "/api/v1/connectors", {**definition, "slug": slug})
    assert code == 201, body.get("errors")
    assert body["source"] == "custom" and body["callback_url"] == callback_for(slug)
    sandbox_app, private_key = apps_flow.register_app(name="Acme own app", slug="acme-own-app",
                                                      setup_url=callback_for(slug))
    client_id, client_secret = apps_flow.authorize_installers(sandbox_app)
    values = {"app_id": str(sandbox_app.pk), "app_slug": sandbox_app.slug,
              "client_id": client_id, "client_secret": client_secret}
    code, body = call(api, "put", f"/api/v1/connectors/{slug}/settings",
                      {"values": {**values, "private_key": ec_pem()}})
    assert code == 422 and "needs an RSA private key" in json.dumps(body)
    assert not PartnerAuthSettings.objects.exists()
    code, body = call(api, "put", f"/api/v1/connectors/{slug}/settings",
                      {"values": {**values, "private_key": private_key}})
    assert code == 200 and body["configured"] is True, body

    custom = Connector.objects.custom(partner).get(slug=slug)
    _, token = make_link(make_account(partner), [custom])
    client.get(reverse("install:landing", args=[token]))
    start = client.post(reverse("install:connect", args=[token, slug]))
    assert start["Location"].startswith("http://testserver/sandbox/apps/acme-own-app/")
    back = install_at_provider(client, start["Location"])
    assert back.startswith(f"{callback_for(slug)}?")
    assert client.get(path_and_query(back))["Location"] == reverse("install:result")
    install = Install.objects.get(connector=custom)
    assert install.status == Install.Status.AUTHENTICATED
    assert apps_flow.installation_token(install.credentials["access_token"]) is not None
