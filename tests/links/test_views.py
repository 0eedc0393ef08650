"""Console side of install links: create (shown once), list with state, revoke, access rules."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from accounts.models import Membership
from audit.models import AuditEvent
from core.fields import EncryptedJSONField
from core.tokens import hash_token
from installs.models import Install
from links import services as links
from links.models import InstallLink
from tests.factories import account, connector, make_link


def create_url(acct) -> str:
    return reverse("links:link_create", args=[acct.pk])


def test_form_offers_configured_connectors_checked(admin_client, acct, crm, partner):
    """Every configured connector is offered and checked; unconfigured ones are not offered."""
    connector("not-set-up", "Not Set Up")
    response = admin_client.get(create_url(acct))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'value="{crm.pk}"[^>]*checked|checked[^>]*value="{crm.pk}"', html)
    assert "Not Set Up" not in html
    assert 'value="60"' in html


def test_form_says_when_no_connector_is_configured(admin_client, acct):
    """With no Authentication Settings saved, the form says what to do instead of a list."""
    connector("not-set-up", "Not Set Up")
    html = admin_client.get(create_url(acct)).content.decode()
    assert "No connector is configured yet" in html and "Not Set Up" not in html


def test_the_form_posts_with_every_catalogue_connector_offered(admin_client, acct, catalog,
                                                               crm):
    """What a browser sends back -- every ready connector checked, every Scopes box blank --
    is accepted: the form grows with the catalogue (a checkbox and a Scopes box each), and
    Django's field-count limit once refused it (400) past about 200 fields."""
    html = admin_client.get(create_url(acct)).content.decode()
    offered = re.findall(r'name="connectors" value="(\d+)"', html)
    scopes = re.findall(r'name="(scopes__[^"]+)"', html)
    assert len(offered) > 150 and len(offered) + len(scopes) > 200
    data: dict[str, object] = {"connectors": offered, "expires_minutes": "60",
                               **{name: "" for name in scopes}}
    response = admin_client.post(create_url(acct), data)
    assert response.status_code == 200 and "Install link created" in response.content.decode()
    assert InstallLink.objects.get().connectors.count() == len(offered)


def test_create_shows_the_url_once(admin_client, acct, crm):
    """The created page shows the full URL with a Copy button; the list never shows it again."""
    response = admin_client.post(create_url(acct), {
        "connectors": [crm.pk], "expires_minutes": "30", "return_url": "https://app.acme.test/x",
    })
    html = response.content.decode()
    assert response.status_code == 200
    token = re.search(r"http://testserver/install/([A-Za-z0-9_-]{43})/", html).group(1)
    link = InstallLink.objects.get()
    assert link.token_hash == hash_token(token)
    assert list(link.connectors.all()) == [crm]
    assert link.return_url == "https://app.acme.test/x"
    assert 'data-copy-target="install-link-url"' in html
    assert "no-store" in response["Cache-Control"]
    listing = Template("{% load install_links %}{% install_links account %}").render(
        Context({"account": acct}))
    assert "Active" in listing and token not in listing


@pytest.mark.parametrize("url", ["//evil.com", "///evil.com", "https:evil.com", "\\\\evil.com",
                                 "javascript:alert(1)", "https://evil.com/"])
def test_create_refuses_bad_return_urls(admin_client, acct, crm, url):
    """The form refuses every open-redirect form with a field error; no link is created."""
    response = admin_client.post(create_url(acct), {
        "connectors": [crm.pk], "expires_minutes": "60", "return_url": url})
    assert response.status_code == 200
    assert "allowed return URLs" in response.content.decode()
    assert not InstallLink.objects.exists()


@pytest.mark.parametrize("minutes", ["0", "10081", "-5", "abc"])
def test_create_refuses_bad_expiry(admin_client, acct, crm, minutes):
    """Expiry is 1 minute to 7 days."""
    response = admin_client.post(create_url(acct), {"connectors": [crm.pk],
                                                    "expires_minutes": minutes})
    assert response.status_code == 200
    assert not InstallLink.objects.exists()


def test_create_needs_a_connector(admin_client, acct, crm):
    """A link that offers nothing is refused."""
    response = admin_client.post(create_url(acct), {"expires_minutes": "60"})
    assert "Choose at least one connector" in response.content.decode()
    assert not InstallLink.objects.exists()


def test_create_refuses_unconfigured_connector(admin_client, acct, crm):
    """A connector without saved Authentication Settings cannot be put on a link."""
    bare = connector("not-set-up", "Not Set Up")
    response = admin_client.post(create_url(acct), {"connectors": [bare.pk],
                                                    "expires_minutes": "60"})
    assert response.status_code == 200
    assert not InstallLink.objects.exists()


def test_create_reconnect_link(admin_client, acct, crm):
    """Choosing an install makes a reconnect link for it."""
    install = Install.objects.create(account=acct, connector=crm)
    admin_client.post(create_url(acct), {"expires_minutes": "60", "install": install.pk})
    assert InstallLink.objects.get().install == install


def test_pages_showing_a_reconnect_link_decrypt_nothing(admin_client, client, acct, crm,
                                                       monkeypatch):
    """The account page and the customer's landing page never load the install's secrets."""
    install = Install.objects.create(account=acct, connector=crm,
                                     credentials={"access_token": "fake-token-123"})
    _link, token = make_link(acct, [crm], install=install)

    def refuse(*args, **kwargs):
        raise AssertionError("an encrypted column was loaded")

    monkeypatch.setattr(EncryptedJSONField, "from_db_value", refuse)
    assert "Reconnect" in admin_client.get(reverse("accounts:detail", args=[acct.pk])
                                           ).content.decode()
    assert "Reconnect" in client.get(reverse("install:landing", args=[token])).content.decode()


def test_create_refuses_other_accounts_install(admin_client, acct, crm, partner):
    """Another account's install is not a valid choice."""
    other = account(partner, "Other Co", "cust-2")
    foreign = Install.objects.create(account=other, connector=crm)
    admin_client.post(create_url(acct), {"connectors": [crm.pk], "expires_minutes": "60",
                                         "install": foreign.pk})
    assert not InstallLink.objects.exists()


def test_viewer_cannot_create_or_revoke(viewer_client, acct, crm):
    """Viewers get 403 on POST and nothing changes."""
    assert viewer_client.post(create_url(acct), {"connectors": [crm.pk],
                                                 "expires_minutes": "60"}).status_code == 403
    link, _ = make_link(acct, [crm])
    response = viewer_client.post(reverse("links:link_revoke", args=[acct.pk, link.pk]))
    assert response.status_code == 403
    assert InstallLink.objects.get().revoked_at is None


def test_other_partner_gets_404(other_client, acct, crm):
    """Another partner's account and links are not found."""
    link, _ = make_link(acct, [crm])
    assert other_client.get(create_url(acct)).status_code == 404
    assert other_client.post(create_url(acct), {"expires_minutes": "60"}).status_code == 404
    response = other_client.post(reverse("links:link_revoke", args=[acct.pk, link.pk]))
    assert response.status_code == 404
    assert InstallLink.objects.get().revoked_at is None


def test_revoke_link_of_another_account_is_404(admin_client, acct, crm, partner):
    """A link id under the wrong account is not found."""
    other = account(partner, "Other Co", "cust-2")
    link, _ = make_link(other, [crm])
    response = admin_client.post(reverse("links:link_revoke", args=[acct.pk, link.pk]))
    assert response.status_code == 404
    assert InstallLink.objects.get().revoked_at is None


def test_revoke(admin_client, acct, crm, alice):
    """Revoke is a POST (the GET asks first); the link stops opening, the event names the admin."""
    link, token = make_link(acct, [crm])
    url = reverse("links:link_revoke", args=[acct.pk, link.pk])
    assert admin_client.get(url).status_code == 200
    assert links.find_link(token).state == "active"
    response = admin_client.post(url)
    assert response.status_code == 302
    assert links.find_link(token).state == "revoked"
    assert AuditEvent.objects.get(action="link.revoked").actor == alice


def test_links_section_lists_states(acct, crm, alice):
    """The account page section shows each link's state and Revoke for active ones (admins)."""
    active, _ = make_link(acct, [crm])
    revoked, _ = make_link(acct, [crm])
    links.revoke_link(link=revoked, actor=alice)
    InstallLink.objects.filter(pk=active.pk).update(use_count=1)
    html = Template("{% load install_links %}{% install_links account %}").render(Context({
        "account": acct, "membership": Membership.objects.get(user=alice)}))
    assert "Active · used by 1 install" in html
    assert "Revoked" in html
    assert html.count('class="button danger" href="/accounts/') == 1  # Revoke, as a link
    assert "Create install link" in html
