"""The support admin: every model registered, no secret on any admin page, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Partner, User
from audit.models import AuditEvent
from connectors.models import DynamicClient, PartnerAuthSettings
from core.tokens import hash_token
from installs.models import AuthAttempt, Install, PendingRevocation
from links.models import InstallLink
from tests.factories import PASSWORD, make_connector

PARTNER_SECRET = "fake-consumer-secret-123"
INSTALL_SECRET = "fake-account-password-456"
ACCESS_TOKEN = "fake-access-token-789"
REFRESH_TOKEN = "fake-refresh-token-012"
VERIFIER = "fake-pkce-verifier-345"
LINK_TOKEN = "fake-install-link-token-678"
DYNAMIC_SECRET = "fake-registered-client-secret-901"
SECRETS = (PARTNER_SECRET, INSTALL_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, VERIFIER, LINK_TOKEN,
           DYNAMIC_SECRET)

CONNECTOR = {
    "name": "1st Connect", "description": "CRM.", "categories": ["CRM"],
    "auth": {"type": "oauth1",
             "request_token_url": "https://api.1stconnect.example/oauth/request_token",
             "authorize_url": "https://app.1stconnect.example/oauth/authorize",
             "access_token_url": "https://api.1stconnect.example/oauth/access_token"},
    "fields": [{"key": "consumer_key", "label": "Consumer Key"},
               {"key": "consumer_secret", "label": "Consumer Secret", "secret": True}],
}


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(email="support@hatchway.test", password=PASSWORD)


@pytest.fixture
def support_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def secret_rows(partner, alice):
    """One row of every model that holds a secret, each holding an obviously fake one."""
    connector = make_connector("1st-connect", CONNECTOR)
    settings_row = PartnerAuthSettings.objects.create(
        partner=partner, connector=connector, values={"consumer_key": "public-key"},
        secret_values={"consumer_secret": PARTNER_SECRET}, saved_at=timezone.now(),
        saved_by=alice)
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(
        account=account, connector=connector, name="Initech CRM", status="authenticated",
        secret_values={"password": INSTALL_SECRET},
        credentials={"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN})
    attempt = AuthAttempt.objects.create(install=install, session_hash="0" * 64,
                                         secrets={"code_verifier": VERIFIER},
                                         expires_at=timezone.now() + timedelta(minutes=10))
    link = InstallLink.objects.create(account=account, token_hash=hash_token(LINK_TOKEN),
                                      expires_at=timezone.now() + timedelta(hours=1))
    pending = PendingRevocation.objects.create(
        partner=partner, connector=connector, install=install,
        credentials={"refresh_token": REFRESH_TOKEN},
        values={"consumer_key": "public-key", "consumer_secret": PARTNER_SECRET},
        next_attempt_at=timezone.now() + timedelta(minutes=1),
        last_error="The provider's revocation endpoint is unavailable (HTTP 503).")
    AuditEvent.objects.create(partner=partner, actor=alice, action="settings.saved",
                              connector=connector, detail={"fields": ["consumer_secret"]})
    AuditEvent.objects.create(partner=partner, actor=alice, action="install.authenticated",
                              install=install, account=account, connector=connector)
    dynamic = DynamicClient.objects.create(
        partner=partner, issuer="https://auth.example.com",
        redirect_uri="https://hatchway.test/connectors/x/callback",
        client={"client_id": "registered-client", "client_secret": DYNAMIC_SECRET},
        token_endpoint_auth_method="client_secret_post")
    return {"settings": settings_row, "install": install, "attempt": attempt, "link": link,
            "account": account, "connector": connector, "pending": pending,
            "dynamic": dynamic}


def admin_url(obj: object, view: str) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def changelist(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def assert_no_secret(response) -> None:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    for secret in SECRETS:
        assert secret not in html
    assert hash_token(LINK_TOKEN) not in html


def test_every_model_is_registered():
    """Every model of accounts and connectors has an admin."""
    for label in ("accounts", "connectors"):
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model.__name__


@pytest.mark.parametrize("key", ["settings", "install", "attempt", "link", "account",
                                 "pending", "dynamic"])
def test_changelist_change_search_and_history_show_no_secret(support_client, secret_rows, key):
    """List, change, search and history pages never contain a secret or token hash."""
    obj = secret_rows[key]
    model = type(obj)
    assert_no_secret(support_client.get(changelist(model)))
    assert_no_secret(support_client.get(changelist(model), {"q": "Initech"}))
    assert_no_secret(support_client.get(changelist(model), {"q": "1st"}))
    assert_no_secret(support_client.get(admin_url(obj, "change")))
    assert_no_secret(support_client.get(admin_url(obj, "history")))


@pytest.mark.parametrize("model", [PartnerAuthSettings, Install, AuthAttempt, InstallLink,
                                   PendingRevocation])
def test_secrets_are_not_searchable(support_client, secret_rows, model):
    """Searching for a secret (or a link token) finds nothing."""
    for secret in (PARTNER_SECRET, ACCESS_TOKEN, VERIFIER, hash_token(LINK_TOKEN)):
        response = support_client.get(changelist(model), {"q": secret})
        assert "0 results" in response.content.decode()


def test_change_pages_show_secret_field_names_only(support_client, secret_rows):
    """Encrypted columns appear as "name: set", never as values."""
    html = support_client.get(admin_url(secret_rows["settings"], "change")).content.decode()
    assert "consumer_secret: set" in html and "public-key" in html
    html = support_client.get(admin_url(secret_rows["install"], "change")).content.decode()
    assert "password: set" in html
    assert "access_token: set, refresh_token: set" in html
    html = support_client.get(admin_url(secret_rows["attempt"], "change")).content.decode()
    assert "code_verifier: set" in html
    assert secret_rows["attempt"].state not in html
    html = support_client.get(admin_url(secret_rows["pending"], "change")).content.decode()
    assert "refresh_token: set" in html
    assert "consumer_key: set, consumer_secret: set" in html
    assert "public-key" not in html and "HTTP 503" in html


def test_secrets_cannot_be_edited_through_the_admin(support_client, secret_rows):
    """Settings and installs are read-only: a POST is refused and the secret is unchanged."""
    for key, field in (("settings", "secret_values"), ("install", "credentials"),
                       ("pending", "credentials")):
        obj = secret_rows[key]
        response = support_client.post(admin_url(obj, "change"),
                                       {field: '{"consumer_secret": "fake-overwrite"}'})
        assert response.status_code == 403
    row = PartnerAuthSettings.objects.get(pk=secret_rows["settings"].pk)
    assert row.secret_values == {"consumer_secret": PARTNER_SECRET}
    assert "secret_values" not in support_client.get(
        admin_url(secret_rows["settings"], "change")).content.decode()


def test_history_after_an_admin_edit_names_fields_only(support_client, secret_rows):
    """Editing a partner logs changed field names; the history page shows no secret."""
    partner = secret_rows["account"].partner
    data = {"name": "Acme Renamed", "slug": partner.slug, "display_name": "Acme",
            "primary_colour": "#aa3300", "support_email": "help@acme.test",
            "allowed_return_origins": "[]", "allowed_frame_origins": "[]"}
    response = support_client.post(admin_url(partner, "change"), data)
    assert response.status_code == 302
    html = support_client.get(admin_url(partner, "history")).content.decode()
    assert "Changed Name" in html
    assert_no_secret(support_client.get(admin_url(partner, "history")))


def test_audit_events_are_read_only(support_client, secret_rows):
    """Audit events can be viewed but not changed or deleted."""
    event = AuditEvent.objects.get(action="settings.saved")
    assert support_client.get(admin_url(event, "change")).status_code == 200
    assert support_client.post(admin_url(event, "delete"), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_user_admin_is_email_based(support_client, db):
    """Users are listed and created by email, and the password is never shown."""
    response = support_client.post(reverse("admin:accounts_user_add"), {
        "email": "New@Acme.test", "usable_password": "true",
        "password1": "fake-new-password-9k2", "password2": "fake-new-password-9k2",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new@acme.test")
    assert user.check_password("fake-new-password-9k2")
    html = support_client.get(admin_url(user, "change")).content.decode()
    assert "fake-new-password-9k2" not in html and user.password not in html
    listing = support_client.get(changelist(User), {"q": "new@acme"}).content.decode()
    assert "new@acme.test" in listing


def test_partner_admin_hides_logo(support_client, partner):
    """The logo bytes are never rendered, only whether one is set."""
    Partner.objects.filter(pk=partner.pk).update(logo=b"fake-logo-bytes",
                                                 logo_content_type="image/png")
    html = support_client.get(admin_url(partner, "change")).content.decode()
    assert "set (image/png)" in html and "fake-logo-bytes" not in html


@pytest.mark.parametrize("model", [PartnerAuthSettings, Install, AuthAttempt, InstallLink,
                                   AuditEvent, Partner, User, Account, PendingRevocation])
def test_staff_without_permission_gets_403(db, model):
    """A staff user without the model's permission is refused."""
    staff = User.objects.create_user(email="staff@hatchway.test", password=PASSWORD,
                                     is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(changelist(model)).status_code == 403


def test_staff_with_view_permission_sees_no_secret(db, secret_rows):
    """View permission on settings shows the list and the change page, still without secrets."""
    staff = User.objects.create_user(email="staff@hatchway.test", password=PASSWORD,
                                     is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_partnerauthsettings"))
    client = Client()
    client.force_login(staff)
    assert_no_secret(client.get(changelist(PartnerAuthSettings)))
    assert_no_secret(client.get(admin_url(secret_rows["settings"], "change")))
    assert client.get(changelist(Install)).status_code == 403


def test_changelists_do_not_decrypt(support_client, secret_rows, monkeypatch):
    """List pages of models with encrypted columns never decrypt them."""
    from core import fields as crypto

    def no_decryption():
        raise AssertionError("a changelist decrypted a secret")

    monkeypatch.setattr(crypto, "current_fernet", no_decryption)
    for model in (PartnerAuthSettings, Install, AuthAttempt, InstallLink, AuditEvent,
                  PendingRevocation):
        assert support_client.get(changelist(model)).status_code == 200


def test_admin_labels_read_as_english(support_client):
    """The admin index names models as people say them: "Webhook deliveries" and
    "OAuth 1.0a tokens", not Django's guesses ("Webhook deliverys", "O auth1 tokens")."""
    html = support_client.get(reverse("admin:index")).content.decode()
    assert "Webhook deliveries" in html and "OAuth 1.0a tokens" in html
    assert "deliverys" not in html.lower() and "O auth" not in html
