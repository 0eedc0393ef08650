"""Destructive console actions ask first: a GET shows a confirmation page naming the
object and what happens, changes nothing, and only the POST from it acts."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Account
from api.models import ApiKey
from audit.models import AuditEvent
from installs.models import Install
from links.models import InstallLink
from tests.api.helpers import make_key
from tests.factories import account as make_account
from tests.factories import api_key_data, install_path, make_connector, make_link, new_install
from webhooks import services as webhooks
from webhooks.models import WebhookEndpoint


@pytest.fixture
def acme(partner) -> Account:
    return make_account(partner, name="Acme Ltd", external_id="acme-1")


@pytest.fixture
def keyed_install(acme) -> Install:
    connector = make_connector("helpdesk-key", api_key_data("Helpdesk"))
    return new_install(acme, connector, name="Support desk", status=Install.Status.AUTHENTICATED,
                       credentials={"api_key": "fake-key-123"}, authenticated_at=timezone.now())


def confirmation(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post"' in html and ">Cancel</a>" in html
    return html


def test_deauthenticate_asks_first(admin_client, keyed_install):
    """The install page links to a confirmation; the GET leaves the credentials alone."""
    detail = admin_client.get(install_path(keyed_install)).content.decode()
    assert f'href="{install_path(keyed_install, "deauthenticate")}">Deauthenticate</a>' in detail
    html = confirmation(admin_client, install_path(keyed_install, "deauthenticate"))
    assert "Deauthenticate Support desk?" in html
    assert "Tokens are revoked at Helpdesk" in html
    keyed_install.refresh_from_db()
    assert keyed_install.credentials == {"api_key": "fake-key-123"}
    admin_client.post(install_path(keyed_install, "deauthenticate"))
    keyed_install.refresh_from_db()
    assert keyed_install.status == Install.Status.DEAUTHENTICATED
    assert keyed_install.credentials == {}


def test_revoke_api_key_asks_first(admin_client, partner):
    key, _ = make_key(partner, name="Billing backend")
    listing = admin_client.get("/api-keys/").content.decode()
    assert f'href="/api-keys/{key.pk}/revoke/"' in listing
    html = confirmation(admin_client, f"/api-keys/{key.pk}/revoke/")
    assert "Revoke API key “Billing backend”?" in html and "401" in html
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    admin_client.post(f"/api-keys/{key.pk}/revoke/")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_revoke_install_link_asks_first(admin_client, acme):
    link, _ = make_link(acme, [])
    url = f"/accounts/{acme.pk}/install-links/{link.pk}/revoke/"
    assert f'href="{url}"' in admin_client.get(f"/accounts/{acme.pk}/").content.decode()
    html = confirmation(admin_client, url)
    assert "Revoke this install link?" in html and "Acme Ltd" in html
    assert InstallLink.objects.get(pk=link.pk).revoked_at is None
    admin_client.post(url)
    assert InstallLink.objects.get(pk=link.pk).revoked_at is not None


def test_rotate_secret_asks_first(admin_client, partner):
    endpoint, _ = webhooks.create_endpoint(partner=partner, url="https://hooks.example.com/in")
    before = endpoint.secrets
    url = f"/webhooks/{endpoint.pk}/rotate/"
    assert f'href="{url}"' in admin_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    html = confirmation(admin_client, url)
    assert "Rotate the signing secret?" in html and "24 hours" in html
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secrets == before
    assert "whsec_" in admin_client.post(url).content.decode()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secrets != before


def test_delete_account_asks_first(admin_client, acme, keyed_install):
    """Delete account: the page names it and its installs; the POST deletes both, audited."""
    detail = admin_client.get(f"/accounts/{acme.pk}/").content.decode()
    assert f'href="/accounts/{acme.pk}/delete/">Delete account</a>' in detail
    html = confirmation(admin_client, f"/accounts/{acme.pk}/delete/")
    assert "Delete Acme Ltd?" in html and "its install are deleted" in html
    assert f"where the provider offers it ({keyed_install.connector.name})" in html
    assert Account.objects.filter(pk=acme.pk).exists()
    response = admin_client.post(f"/accounts/{acme.pk}/delete/")
    assert response["Location"] == "/accounts/"
    assert not Account.objects.filter(pk=acme.pk).exists()
    assert not Install.objects.filter(pk=keyed_install.pk).exists()
    assert AuditEvent.objects.filter(action="account.deleted").count() == 1


@pytest.mark.parametrize("path", ["/accounts/{account}/delete/",
                                  "/accounts/{account}/installs/{install}/deauthenticate/"])
def test_viewers_and_other_partners_get_no_confirmation(viewer_client, other_client, acme,
                                                         keyed_install, path):
    """Viewers: 403 on the page and the POST; another partner: 404; nothing changes."""
    url = path.format(account=acme.pk, install=keyed_install.pk)
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url).status_code == 403
    assert other_client.get(url).status_code == 404
    assert other_client.post(url).status_code == 404
    keyed_install.refresh_from_db()
    assert keyed_install.status == Install.Status.AUTHENTICATED
