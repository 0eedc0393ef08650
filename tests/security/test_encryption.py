"""SECURITY.md "Encryption and key rotation": an install whose stored secrets no key
decrypts (unknown key, tampered bytes) says "re-enter credentials" on every page and
action -- never a 500, never a silently empty value."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from installs.models import Install
from tests.factories import fake_oauth2_connector, install_path, raw_value, write_raw_value


@pytest.fixture
def unreadable(account) -> Install:
    install = Install.objects.create(
        account=account, connector=fake_oauth2_connector(account.partner), name="Fake CRM",
        status=Install.Status.AUTHENTICATED, credentials={"access_token": "fake-access-enc"},
        secret_values={"client_secret": "fake-entered-secret-enc"})
    for column in ("credentials", "secret_values"):
        stored = raw_value(install, column)
        write_raw_value(install, column, stored[:-6] + b"AAAAAA")  # tampered ciphertext
    return install


def test_pages_say_re_enter_credentials(admin_client, unreadable):
    """Install page, account page and list: 200, the re-enter message, no error."""
    page = admin_client.get(install_path(unreadable))
    assert page.status_code == 200
    assert "re-enter credentials" in page.content.decode()
    assert admin_client.get(f"/accounts/{unreadable.account_id}/").status_code == 200
    assert admin_client.get("/accounts/needs-attention/").status_code == 200


def test_actions_on_unreadable_credentials_never_fail(admin_client, unreadable, fake):
    """Test connection says so; deauthenticate replaces the unreadable value; nothing 500s."""
    stored = raw_value(unreadable, "credentials")
    response = admin_client.post(install_path(unreadable, "test"), follow=True)
    assert "cannot be read" in response.content.decode()
    assert raw_value(unreadable, "credentials") == stored  # kept as it was, not emptied
    response = admin_client.post(install_path(unreadable, "deauthenticate"), follow=True)
    assert response.status_code == 200
    assert fake.calls == []  # nothing to revoke with: no request made with garbage
    unreadable.refresh_from_db()
    assert unreadable.credentials == {} and unreadable.status == Install.Status.DEAUTHENTICATED
    event = AuditEvent.objects.get(action="install.deauthenticated")
    assert event.detail["revocation"] == "nothing_to_revoke"
