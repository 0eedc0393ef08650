"""Customer install pages: branding, refusals (unknown, expired, revoked, foreign), CSRF,
framing, and the result / return-URL pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from installs.models import AuthAttempt, Install
from links import browser
from links import services as links
from links.models import InstallLink
from tests.factories import account, connector, customer_session, expire, make_link


@pytest.fixture
def link_and_token(acct, crm):
    return make_link(acct, [crm], return_url="https://app.acme.test/back?tab=apps")


def landing_url(token: str) -> str:
    return reverse("install:landing", args=[token])


def assert_no_platform_name(response) -> None:
    assert "hatchway" not in response.content.decode().lower()


def test_landing_is_branded(client, link_and_token, partner, crm):
    """The landing page shows the partner's name, colour stylesheet, the connector and Connect."""
    link, token = link_and_token
    response = client.get(landing_url(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme" in html and "Initech" in html
    assert reverse("install:theme", args=["aa3300"]) in html
    assert "CRM One" in html and ">Connect</button>" in html and "Not connected" in html
    assert 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert "help@acme.test" in html
    assert_no_platform_name(response)
    # Nothing of the console: no navigation, no other partner data.
    assert reverse("accounts:list") not in html and "Log out" not in html
    assert "fake-client-secret-123" not in html and "fake-client-id" not in html


def test_landing_shows_logo_when_set(client, link_and_token, partner):
    """With a logo the page shows it from a link-scoped URL that serves it with nosniff."""
    partner.logo, partner.logo_content_type = b"\x89PNG fake", "image/png"
    partner.save()
    _, token = link_and_token
    html = client.get(landing_url(token)).content.decode()
    logo_url = reverse("install:logo", args=[token])
    assert f'src="{logo_url}"' in html
    logo = client.get(logo_url)
    assert logo["Content-Type"] == "image/png" and logo["X-Content-Type-Options"] == "nosniff"


def test_opening_is_audited_once_per_session(client, link_and_token):
    """link.opened is recorded with the account and actor "install link", once per browser."""
    link, token = link_and_token
    client.get(landing_url(token))
    client.get(landing_url(token))
    event = AuditEvent.objects.get(action="link.opened")
    assert event.account == link.account and event.actor_label == "install link"
    assert token not in str(event.detail)


def test_status_and_reconnect_for_existing_install(client, link_and_token, acct, crm):
    """An existing install shows its status and a Reconnect button instead of Connect."""
    install = Install.objects.create(account=acct, connector=crm,
                                     status=Install.Status.AUTHENTICATED)
    html = client.get(landing_url(link_and_token[1])).content.decode()
    assert "Authenticated" in html and ">Reconnect</button>" in html
    assert reverse("install:reconnect", args=[link_and_token[1], install.pk]) in html


def test_other_accounts_are_invisible(client, link_and_token, partner, crm):
    """Another account's installs and name never appear on this account's link."""
    other = account(partner, "Umbrella Corp", "cust-2")
    Install.objects.create(account=other, connector=crm, status=Install.Status.AUTHENTICATED)
    html = client.get(landing_url(link_and_token[1])).content.decode()
    assert "Umbrella" not in html and "Authenticated" not in html


def test_unknown_and_tampered_tokens_are_404_and_neutral(client, link_and_token):
    """Unknown, tampered and malformed tokens get a neutral 404 page: no partner, no platform."""
    _, token = link_and_token
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (tampered, "x" * 43, "short", "%00" * 5, token.upper() if token.upper() != token
                else token.lower()):
        response = client.get(f"/install/{bad}/")
        assert response.status_code == 404, bad
        html = response.content.decode()
        assert "Link not found" in html and "Acme" not in html
        assert_no_platform_name(response)
    assert not AuditEvent.objects.filter(action="link.opened").exists()


def test_expired_link_is_410_in_partner_branding(client, link_and_token, crm):
    """An expired link: 410, the partner's name, nothing changes, Connect refused too."""
    link, token = link_and_token
    expire(link)
    response = client.get(landing_url(token))
    assert response.status_code == 410
    assert "Link expired" in response.content.decode() and "Acme" in response.content.decode()
    assert_no_platform_name(response)
    post = client.post(reverse("install:connect", args=[token, crm.slug]))
    assert post.status_code == 410
    assert not Install.objects.exists() and not AuthAttempt.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["link.opened", "install.created"]).exists()


def test_revoked_link_is_410(client, link_and_token, crm, alice):
    """A revoked link: 410 "Link revoked", and connecting through it changes nothing."""
    link, token = link_and_token
    links.revoke_link(link=link, actor=alice)
    response = client.get(landing_url(token))
    assert response.status_code == 410 and "Link revoked" in response.content.decode()
    assert_no_platform_name(response)
    assert client.post(reverse("install:connect", args=[token, crm.slug])).status_code == 410
    assert not Install.objects.exists()


def test_get_never_starts_anything(client, link_and_token, crm, acct):
    """GET on Connect or Reconnect is 405: no install, no attempt."""
    _, token = link_and_token
    install = Install.objects.create(account=acct, connector=crm)
    assert client.get(reverse("install:connect", args=[token, crm.slug])).status_code == 405
    assert client.get(reverse("install:reconnect", args=[token, install.pk])).status_code == 405
    assert Install.objects.count() == 1 and not AuthAttempt.objects.exists()


def test_csrf_required_to_start(link_and_token, crm):
    """A cross-site POST without the CSRF token is refused (403, no platform name)."""
    _, token = link_and_token
    browser = Client(enforce_csrf_checks=True)
    browser.get(landing_url(token))
    response = browser.post(reverse("install:connect", args=[token, crm.slug]))
    assert response.status_code == 403
    assert_no_platform_name(response)
    assert not Install.objects.exists() and not AuthAttempt.objects.exists()


def test_another_accounts_install_is_404(client, link_and_token, partner, crm):
    """A link for account A cannot reconnect account B's install: branded 404, nothing starts."""
    other = account(partner, "Umbrella Corp", "cust-2")
    foreign = Install.objects.create(account=other, connector=crm)
    _, token = link_and_token
    response = client.post(reverse("install:reconnect", args=[token, foreign.pk]))
    assert response.status_code == 404
    assert "Umbrella" not in response.content.decode()
    assert_no_platform_name(response)
    assert not AuthAttempt.objects.exists()


def test_other_partners_install_is_404(client, link_and_token, other_partner, crm):
    """Nor another partner's install."""
    foreign = Install.objects.create(account=account(other_partner, "Globex customer", "g-1"),
                                     connector=crm)
    response = client.post(reverse("install:reconnect", args=[link_and_token[1], foreign.pk]))
    assert response.status_code == 404
    assert not AuthAttempt.objects.exists()


def test_connector_not_on_the_link_is_404(client, link_and_token, partner):
    """Connecting a connector the link does not offer is refused, even a configured one."""
    connector("crm-two", "CRM Two", partner)
    response = client.post(reverse("install:connect", args=[link_and_token[1], "crm-two"]))
    assert response.status_code == 404
    assert not Install.objects.exists()


def test_reconnect_link_reaches_only_its_install(client, acct, crm):
    """A link targeting one install cannot reconnect a sibling install or connect new ones."""
    target = Install.objects.create(account=acct, connector=crm)
    sibling = Install.objects.create(account=acct, connector=crm)
    _, token = make_link(acct, [], install=target)
    assert client.post(reverse("install:reconnect", args=[token, sibling.pk])).status_code == 404
    assert client.post(reverse("install:connect", args=[token, crm.slug])).status_code == 404
    assert Install.objects.count() == 2 and not AuthAttempt.objects.exists()


def test_pages_refuse_framing_by_default(client, link_and_token):
    """Without embedding origins: frame-ancestors 'none' and X-Frame-Options DENY."""
    response = client.get(landing_url(link_and_token[1]))
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_allowlisted_embedding_origins_may_frame(client, link_and_token, partner):
    """With embedding origins the CSP names exactly them and X-Frame-Options is dropped."""
    partner.allowed_frame_origins = ["https://app.acme.test", "https://portal.acme.test:8443"]
    partner.save()
    for url in (landing_url(link_and_token[1]), "/install/" + "x" * 43 + "/"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        if url.endswith("x/"):  # unknown link: no partner, so no embedding allowed
            assert "frame-ancestors 'none'" in csp and response["X-Frame-Options"] == "DENY"
            continue
        assert "frame-ancestors https://app.acme.test https://portal.acme.test:8443" in csp
        assert "'none'" not in csp.split("frame-ancestors", 1)[1].split(";")[0]
        assert "X-Frame-Options" not in response


def open_link(client: Client, token: str) -> None:
    client.get(landing_url(token))


def test_finish_connected_counts_use_and_returns(client, link_and_token, acct, crm, rf):
    """"connected": use_count +1, link.used audited, "Connected" page, then back with status."""
    link, token = link_and_token
    open_link(client, token)
    install = Install.objects.create(account=acct, connector=crm)
    attempt = AuthAttempt.objects.create(install=install, session_hash="x", install_link=link,
                                         expires_at=link.expires_at)
    request = rf.get("/connectors/callback")
    request.session = customer_session(client)
    response = browser.finish_link_attempt(request, attempt, "connected", "CRM One is connected.")
    request.session.save()
    assert response.status_code == 302 and response["Location"] == reverse("install:result")
    assert InstallLink.objects.get().use_count == 1
    used = AuditEvent.objects.get(action="link.used")
    assert (used.install, used.account, used.actor_label) == (install, acct, "install link")

    page = client.get(reverse("install:result"))
    html = page.content.decode()
    assert "<h1>Connected</h1>" in html and "Acme" in html
    assert f'content="3;url={reverse("install:continue")}"' in html
    assert_no_platform_name(page)
    back = client.get(reverse("install:continue"))
    assert back.status_code == 302
    assert back["Location"] == ("https://app.acme.test/back?tab=apps"
                                "&status=connected&connector=crm-one")


@pytest.mark.parametrize("outcome,heading", [("cancelled", "Connection cancelled"),
                                             ("error", "Connection failed"),
                                             ("bogus", "Connection failed")])
def test_finish_without_success(client, link_and_token, acct, crm, rf, outcome, heading):
    """Cancelled or failed: no use counted, the page says so, the return URL gets the outcome."""
    link, token = link_and_token
    install = Install.objects.create(account=acct, connector=crm)
    attempt = AuthAttempt.objects.create(install=install, session_hash="x", install_link=link,
                                         expires_at=link.expires_at)
    request = rf.get("/connectors/callback")
    request.session = customer_session(client)
    browser.finish_link_attempt(request, attempt, outcome, "The provider said <b>no</b>.")
    request.session.save()
    assert InstallLink.objects.get().use_count == 0
    assert not AuditEvent.objects.filter(action="link.used").exists()
    html = client.get(reverse("install:result")).content.decode()
    assert f"<h1>{heading}</h1>" in html and "<b>no</b>" not in html
    expected = "cancelled" if outcome == "cancelled" else "error"
    assert client.get(reverse("install:continue"))["Location"].endswith(
        f"&status={expected}&connector=crm-one")


def test_return_url_removed_from_allowlist_is_not_followed(client, link_and_token, acct, crm,
                                                           rf, partner):
    """If the partner drops the origin afterwards, the result page no longer sends people there."""
    link, _ = link_and_token
    install = Install.objects.create(account=acct, connector=crm)
    request = rf.get("/")
    request.session = customer_session(client)
    browser.finish_link(request, link=link, install=install, outcome="connected")
    request.session.save()
    partner.allowed_return_origins = []
    partner.save()
    html = client.get(reverse("install:result")).content.decode()
    assert "Connected" in html and "refresh" not in html
    assert client.get(reverse("install:continue"))["Location"] == reverse("install:result")


def test_result_without_session_is_neutral_404(client):
    """The result page of a browser that connected nothing says so, without any brand."""
    response = client.get(reverse("install:result"))
    assert response.status_code == 404
    assert_no_platform_name(response)
