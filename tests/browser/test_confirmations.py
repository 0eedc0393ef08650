"""In Chromium: each destructive console action asks first -- its first click only shows a
confirmation page naming what happens -- and acts once confirmed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Membership, Partner, User
from api import services as api_keys
from api.models import ApiKey
from connectors.models import Connector
from connectors.sync import sync_catalog
from installs.models import Install
from links.models import InstallLink
from tests.factories import account, make_link
from webhooks import services as webhooks
from webhooks.models import WebhookEndpoint

EMAIL = "admin@confirm.test"
PASSWORD = "fake-confirm-password-3390"


@pytest.mark.browser
def test_destructive_actions_ask_first(page, live_server, transactional_db, settings):
    from playwright.sync_api import expect

    settings.PUBLIC_URL = live_server.url
    sync_catalog()
    partner = Partner.objects.create(name="Acme Cloud", slug="acme")
    user = User.objects.create_user(email=EMAIL, password=PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.ADMIN)
    customer = account(partner, "Initech", "cust-42")
    install = Install.objects.create(
        account=customer, connector=Connector.objects.get(slug="sandbox-api-key"),
        name="Support desk", status=Install.Status.AUTHENTICATED,
        authenticated_at=timezone.now(), credentials={"api_key": "fake-confirm-key"})
    endpoint, _ = webhooks.create_endpoint(partner=partner, url="https://hooks.acme.test/in")
    key, _ = api_keys.create_key(partner=partner, actor=user, name="Backend", scopes=["manage"])
    link, _ = make_link(customer, [install.connector])
    colleague = User.objects.create_user(email="victor@confirm.test", password=PASSWORD)
    seat = Membership.objects.create(user=colleague, partner=partner,
                                     role=Membership.Role.VIEWER)
    url = live_server.url
    page.goto(f"{url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    def first_click(path: str, name: str, heading: str) -> None:
        page.goto(url + path)
        page.get_by_role("link", name=name).first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        expect(page.get_by_role("link", name="Cancel")).to_be_visible()

    install_path = reverse("accounts:install", args=[customer.pk, install.pk])
    first_click(install_path, "Deauthenticate", "Deauthenticate Support desk?")
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    page.get_by_role("button", name="Deauthenticate").click()
    expect(page.get_by_text("Deauthenticated.")).to_be_visible()
    install.refresh_from_db()
    assert install.status == Install.Status.DEAUTHENTICATED

    first_click(reverse("api_keys:list"), "Revoke", "Revoke API key “Backend”?")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    first_click(reverse("accounts:detail", args=[customer.pk]), "Revoke",
                "Revoke this install link?")
    assert InstallLink.objects.get(pk=link.pk).revoked_at is None
    endpoint_path = reverse("webhooks:detail", args=[endpoint.pk])
    secrets = WebhookEndpoint.objects.get(pk=endpoint.pk).secrets
    first_click(endpoint_path, "Rotate secret", "Rotate the signing secret?")
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secrets == secrets
    first_click(endpoint_path, "Delete", "Delete this endpoint?")
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    first_click(install_path, "Delete", "Delete Support desk?")
    assert Install.objects.filter(pk=install.pk).exists()
    first_click(reverse("teams:members"), "Remove member victor@confirm.test",
                "Remove victor@confirm.test?")
    assert Membership.objects.filter(pk=seat.pk).exists()
    page.get_by_role("button", name="Remove member").click()
    expect(page.get_by_text("victor@confirm.test was removed.")).to_be_visible()
    assert not Membership.objects.filter(pk=seat.pk).exists()
    first_click(reverse("accounts:detail", args=[customer.pk]), "Delete account",
                "Delete Initech?")
    page.get_by_role("button", name="Delete account").click()
    expect(page.get_by_text("Account “Initech” was deleted.")).to_be_visible()
    assert not Account.objects.filter(pk=customer.pk).exists()
