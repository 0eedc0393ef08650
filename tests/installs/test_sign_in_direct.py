"""Installs with no browser step -- API key, basic, client credentials -- against the
sandbox whoami endpoint, through the console views."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import AuthAttempt, Install
from tests.factories import (
    catalogue_connector,
    install_path,
    new_install,
    sandbox_client_credentials,
)

API_KEY = "fake-sandbox-api-key-123"
PASSWORD = "fake-sandbox-password-123"


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def sandbox_user(sandbox_transport):
    from sandbox.services import create_user

    return create_user(username="ann", password=PASSWORD, api_key=API_KEY)


def install_through_form(client, account, slug: str, data: dict[str, str]) -> Install:
    connector = catalogue_connector(slug)
    response = client.post(f"/accounts/{account.pk}/install/{slug}/", data)
    assert response.status_code == 302, response.content.decode()
    return Install.objects.get(account=account, connector=connector)


def raw_column(install: Install, column: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM accounts_install WHERE id = %s", [install.pk])
        value = cursor.fetchone()[0]
    return bytes(value) if value is not None else b""


def test_api_key_install_is_verified_and_authenticated(admin_client, account, sandbox_user,
                                                       sandbox_transport):
    """The key entered at install is verified against whoami, then moved into credentials:
    one step (issue 19 item 2: nothing is saved before the provider accepts it)."""
    install = install_through_form(admin_client, account, "sandbox-api-key",
                                   {"install_name": "Keyed", "api_key": API_KEY})
    html = admin_client.get(install_path(install)).content.decode()
    assert "is installed and authenticated" in html and API_KEY not in html
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials == {"api_key": API_KEY}
    assert "api_key" not in install.secret_values
    assert API_KEY.encode() not in raw_column(install, "credentials")
    assert API_KEY.encode() not in raw_column(install, "secret_values")
    whoami = [c for c in sandbox_transport.calls if c.url.endswith("/sandbox/api/me")]
    assert len(whoami) == 1 and whoami[0].headers["X-API-Key"] == API_KEY
    assert not AuthAttempt.objects.exists()
    assert AuditEvent.objects.filter(action="install.authenticated",
                                     detail__verified=True).count() == 1


def test_wrong_api_key_is_an_error_with_a_clear_message(admin_client, account, sandbox_user):
    """A new key the sandbox rejects for an existing install: status Error, "The API key was
    rejected (HTTP 401)" on the form shown again, audited; the rejected key not kept."""
    install = install_through_form(admin_client, account, "sandbox-api-key",
                                   {"api_key": API_KEY})
    admin_client.post(install_path(install, "deauthenticate"))
    response = admin_client.post(install_path(install, "edit") + "?authenticate=1",
                                 {"api_key": "fake-wrong-key"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "The API key was rejected (HTTP 401)" in html
    assert "fake-wrong-key" not in html
    install.refresh_from_db()
    assert install.status == Install.Status.ERROR
    assert install.last_error == "The API key was rejected (HTTP 401)."
    assert install.credentials == {}
    assert "api_key" not in install.secret_values  # rejected keys are not kept
    event = AuditEvent.objects.get(action="install.auth_failed")
    assert event.detail == {"kind": "verify_failed", "stage": "complete"}
    account_page = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert "Error" in account_page and "The API key was rejected (HTTP 401)." in account_page


def test_reauthenticating_an_api_key_asks_for_the_key_again(admin_client, account, sandbox_user):
    """After deauthentication the key is gone; Reauthenticate leads to the form, then works."""
    install = install_through_form(admin_client, account, "sandbox-api-key", {"api_key": API_KEY})
    admin_client.post(install_path(install, "authenticate"))
    admin_client.post(install_path(install, "deauthenticate"))
    install.refresh_from_db()
    assert install.status == Install.Status.DEAUTHENTICATED and install.credentials == {}
    response = admin_client.post(install_path(install, "authenticate"))
    assert response["Location"] == install_path(install, "edit") + "?authenticate=1"
    form = admin_client.get(response["Location"]).content.decode()
    assert 'type="password"' in form and "Save and authenticate" in form
    response = admin_client.post(response["Location"], {"api_key": API_KEY})
    assert response.status_code == 302
    install.refresh_from_db()
    assert install.pk and install.status == Install.Status.AUTHENTICATED
    assert install.credentials == {"api_key": API_KEY}


def test_basic_install(admin_client, account, sandbox_user, sandbox_transport):
    """User name and password verified with HTTP Basic against whoami."""
    install = install_through_form(admin_client, account, "sandbox-basic",
                                   {"username": "ann", "password": PASSWORD})
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials == {"username": "ann", "password": PASSWORD}
    assert install.values == {}
    page = admin_client.get(install_path(install)).content.decode()
    assert PASSWORD not in page


def test_basic_wrong_password(admin_client, account, sandbox_user):
    """A wrong password: the form again, naming the user name or password; nothing saved."""
    catalogue_connector("sandbox-basic")
    response = admin_client.post(f"/accounts/{account.pk}/install/sandbox-basic/",
                                 {"username": "ann", "password": "fake-wrong-password"})
    assert response.status_code == 200
    assert "The user name or password was rejected (HTTP 401)." in response.content.decode()
    assert not Install.objects.exists()


def test_client_credentials_install(admin_client, account, sandbox_transport):
    """No browser step: the token is fetched with the partner's client and verified."""
    connector = sandbox_client_credentials(account.partner)
    install = new_install(account, connector)
    response = admin_client.post(install_path(install, "authenticate"))
    assert response["Location"] == install_path(install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert set(install.credentials) == {"access_token", "token_type", "scope"}
    assert install.expires_at is not None
    grants = [c for c in sandbox_transport.calls if c.url.endswith("/sandbox/oauth2/token")]
    assert len(grants) == 1 and "grant_type=client_credentials" in grants[0].body


def test_test_connection_on_a_revoked_api_key(admin_client, account, sandbox_user):
    """Test connection after the key stopped working: Error with the rejection message."""
    from sandbox.models import SandboxUser

    install = install_through_form(admin_client, account, "sandbox-api-key", {"api_key": API_KEY})
    admin_client.post(install_path(install, "authenticate"))
    SandboxUser.objects.update(api_key_hash="revoked")
    response = admin_client.post(install_path(install, "test"), follow=True)
    assert "The API key was rejected (HTTP 401)" in response.content.decode()
    install.refresh_from_db()
    assert install.status == Install.Status.ERROR
    assert AuditEvent.objects.get(action="install.verify_failed").detail == {
        "kind": "verify_failed"}
