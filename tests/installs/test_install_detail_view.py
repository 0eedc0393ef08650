"""The install page describes what is stored in words, never showing a secret."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Account
from installs.models import Install
from installs.templatetags.install_details import info_label
from tests.factories import make_connector

BASIC = {"name": "Desk", "description": "Tickets.", "auth": {"type": "basic"},
         "fields": [{"key": "username", "label": "Username", "level": "account"},
                    {"key": "password", "label": "Password", "level": "account",
                     "secret": True}]}


def test_moved_credentials_read_as_set(admin_client, partner):
    """Basic values moved into the credentials show the user name and "Set", not "Not set"."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="c-1")
    install = Install.objects.create(
        account=account, connector=make_connector("desk", BASIC),
        status=Install.Status.AUTHENTICATED,
        credentials={"username": "fake-user", "password": "fake-password-123"},
        token_info={"instance_url": "https://eu1.desk.example"})
    html = admin_client.get(reverse("accounts:install", args=[account.pk, install.pk])
                            ).content.decode()
    assert '<th scope="row">Password</th><td>Set</td>' in html
    assert '<th scope="row">Username</th><td>fake-user</td>' in html
    assert '<th scope="row">Instance URL</th>' in html
    assert "fake-password-123" not in html and "Not set" not in html


def test_info_labels_are_words():
    """Provider keys become readable labels."""
    assert info_label("instance_url") == "Instance URL"
    assert info_label("realmId") == "Realm ID"
    assert info_label("oauth_authorized_realms") == "Authorized realms"
    assert info_label("user_identity") == "User identity"
