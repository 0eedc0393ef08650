"""Viewers read the console but are never shown a form they cannot submit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account
from installs.models import Install
from tests.factories import make_connector

DESK = {"name": "Desk", "description": "Tickets.", "auth": {"type": "api_key",
                                                            "header": "X-API-Key"},
        "fields": [{"key": "api_key", "label": "API key", "level": "account", "secret": True}]}


@pytest.fixture
def install(partner) -> Install:
    account = Account.objects.create(partner=partner, name="Initech", external_id="c-1")
    return Install.objects.create(account=account, connector=make_connector("desk", DESK))


def change_pages(install: Install) -> list[str]:
    account_id = install.account_id
    return [
        reverse("accounts:create"),
        reverse("accounts:install_pick", args=[account_id]),
        reverse("accounts:install_new", args=[account_id, "desk"]),
        reverse("accounts:install_edit", args=[account_id, install.pk]),
        reverse("accounts:install_delete", args=[account_id, install.pk]),
        reverse("links:link_create", args=[account_id]),
    ]


def test_change_pages_are_admin_only_even_on_get(viewer_client, admin_client, install):
    """Forms and confirmations: 403 for a viewer (with a clear page), 200 for an admin."""
    for url in change_pages(install):
        response = viewer_client.get(url)
        assert response.status_code == 403, url
        assert admin_client.get(url).status_code == 200, url
    html = viewer_client.get(change_pages(install)[0]).content.decode()
    assert "<h1>Not allowed</h1>" in html
    assert "You have read-only access: ask an admin of Acme Cloud" in html


def test_read_pages_stay_open_to_viewers(viewer_client, install):
    """The account and install pages still load for viewers, without change buttons."""
    account_page = viewer_client.get(reverse("accounts:detail", args=[install.account_id]))
    install_page = viewer_client.get(reverse("accounts:install",
                                             args=[install.account_id, install.pk]))
    assert account_page.status_code == install_page.status_code == 200
    for html in (account_page.content.decode(), install_page.content.decode()):
        assert "Install connector" not in html and "Create install link" not in html
        assert "Edit details" not in html and ">Delete<" not in html


def test_branding_is_read_only_for_viewers(viewer_client, admin_client):
    """A viewer sees the branding with disabled inputs; an admin's inputs are enabled."""
    viewer_html = viewer_client.get(reverse("links:branding")).content.decode()
    assert 'name="display_name"' in viewer_html
    assert viewer_html.count(" disabled") >= 5
    assert "Only admins can change the branding." in viewer_html
    assert " disabled" not in admin_client.get(reverse("links:branding")).content.decode()
