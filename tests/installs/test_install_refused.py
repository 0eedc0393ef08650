"""A refused API-key install in the console leaves nothing behind (issue 19 items 2, 18).

Installing a connector without a browser step (API key, basic, client credentials) is
one step: the entered key is verified first, and only a key the provider accepts is
saved, authenticated, with its audit events. A key the provider refuses shows the form
again with the provider's message: no install, no audit event, no webhook.
"""

from __future__ import annotations

import pytest

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import Install
from tests.factories import assert_nothing_written, catalogue_connector, install_path
from webhooks.services import create_endpoint

API_KEY = "fake-sandbox-api-key-123"


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def sandbox_user(sandbox_transport):
    from sandbox.services import create_user

    return create_user(username="ann", password="fake-sandbox-password-123", api_key=API_KEY)


def install_url(account: Account, slug: str = "sandbox-api-key") -> str:
    catalogue_connector(slug)
    return f"/accounts/{account.pk}/install/{slug}/"


def test_a_refused_key_shows_the_form_again_and_saves_nothing(admin_client, account, partner,
                                                              sandbox_user):
    """The provider's message on the form, the key not echoed; no row, event or webhook."""
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    events_before = AuditEvent.objects.count()
    response = admin_client.post(install_url(account), {"install_name": "Desk",
                                                        "api_key": "fake-wrong-key-000"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The API key was rejected (HTTP 401)" in html
    assert "fake-wrong-key-000" not in html
    assert 'name="install_name"' in html and 'value="Desk"' in html  # the form, again
    assert_nothing_written(events_before)


def test_an_accepted_key_is_installed_and_authenticated_at_once(admin_client, account,
                                                                sandbox_user, sandbox_transport):
    """One step: verified against the provider, then saved authenticated."""
    response = admin_client.post(install_url(account), {"install_name": "Desk",
                                                        "api_key": API_KEY})
    install = Install.objects.get()
    assert response.status_code == 302 and response["Location"] == install_path(install)
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials == {"api_key": API_KEY}
    actions = list(AuditEvent.objects.filter(install=install).order_by("pk")
                   .values_list("action", flat=True))
    assert actions == ["install.created", "install.auth_started", "install.authenticated"]


def test_a_refused_new_key_on_an_install_shows_the_form_again(admin_client, account,
                                                              sandbox_user):
    """Reauthenticating with a new key the provider refuses: the form again, with the
    provider's message, rather than the install page offering "Authenticate"."""
    admin_client.post(install_url(account), {"api_key": API_KEY})
    install = Install.objects.get()
    admin_client.post(install_path(install, "deauthenticate"))
    edit = install_path(install, "edit") + "?authenticate=1"
    response = admin_client.post(edit, {"api_key": "fake-wrong-key-000"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The API key was rejected (HTTP 401)" in html and "fake-wrong-key-000" not in html
    assert "Save and authenticate" in html


def test_the_install_page_asks_for_the_key_not_authenticate(admin_client, account,
                                                            sandbox_user):
    """An install whose key is gone: the main action enters the key; "Authenticate", which
    cannot work without it, is not offered."""
    admin_client.post(install_url(account), {"api_key": API_KEY})
    install = Install.objects.get()
    admin_client.post(install_path(install, "deauthenticate"))
    page = admin_client.get(install_path(install)).content.decode()
    assert 'class="button primary"' in page
    assert install_path(install, "edit") + "?authenticate=1" in page
    assert ">Authenticate<" not in page and ">Reauthenticate<" not in page
