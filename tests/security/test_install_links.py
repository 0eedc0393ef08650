"""SECURITY.md "Install links": refusals that change nothing, and a return redirect that
cannot be bent into an open redirect -- not by a return URL written past validation, nor
by hostile outcome values in the session."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from connectors.models import PartnerAuthSettings
from installs.models import AuthAttempt, Install
from links import browser
from links import services as links
from links.customer_views import HEADINGS
from links.models import InstallLink
from tests.factories import connector, customer_session, expire, make_link

RETURN = "https://app.acme.test/back"


def remember_outcome(client: Client, link: InstallLink, install: Install, **overrides) -> None:
    """Put a result in the browser's (server-side) session, as finish_link would."""
    session = customer_session(client)
    session[browser.SESSION_RESULT] = {"link": link.pk, "install": install.pk,
                                     "connector": install.connector.slug,
                                     "outcome": "connected", "message": "", **overrides}
    session.save()


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_reconnect_through_a_dead_link_changes_nothing(client, acct, crm, state):
    """Reconnect (and Connect) on an expired or revoked reconnect link: 410, nothing starts."""
    install = Install.objects.create(account=acct, connector=crm,
                                     status=Install.Status.AUTHENTICATED,
                                     credentials={"access_token": "fake-access-kept"})
    link, token = make_link(acct, [], install=install)
    expire(link) if state == "expired" else links.revoke_link(link=link, actor=None)
    events = AuditEvent.objects.count()
    for url in (reverse("install:reconnect", args=[token, install.pk]),
                reverse("install:connect", args=[token, crm.slug])):
        response = client.post(url, {"step": "details"})
        assert response.status_code == 410
        assert "Acme" in response.content.decode()
    install.refresh_from_db()
    assert install.credentials == {"access_token": "fake-access-kept"}
    assert install.status == Install.Status.AUTHENTICATED
    assert not AuthAttempt.objects.exists() and Install.objects.count() == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("stored", ["//evil.com", "https://evil.com/back", "javascript:alert(1)",
                                    "https:evil.com", "\\\\evil.com"])
def test_return_url_written_past_validation_is_not_followed(client, acct, crm, stored):
    """A return URL stored without the form (admin, SQL) is re-checked: no redirect, no refresh."""
    link, _ = make_link(acct, [crm], return_url=RETURN)
    InstallLink.objects.filter(pk=link.pk).update(return_url=stored)
    install = Install.objects.create(account=acct, connector=crm)
    remember_outcome(client, link, install)
    html = client.get(reverse("install:result")).content.decode()
    assert "evil" not in html and 'http-equiv="refresh"' not in html
    assert client.get(reverse("install:continue"))["Location"] == reverse("install:result")


def test_hostile_session_values_stay_inside_the_return_url_query(client, acct, crm):
    """Outcome and connector values are only ever query parameters on the allowlisted URL."""
    link, _ = make_link(acct, [crm], return_url=RETURN)
    install = Install.objects.create(account=acct, connector=crm)
    remember_outcome(client, link, install, connector="x&next=//evil.com#",
                     outcome="connected\r\nLocation: https://evil.com")
    location = client.get(reverse("install:continue"))["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "app.acme.test", "/back")
    assert "\r" not in location and "\n" not in location and parts.fragment == ""
    assert "connector=x%26next%3D%2F%2Fevil.com%23" in parts.query
    html = client.get(reverse("install:result")).content.decode()
    assert HEADINGS["error"] in html  # an unknown outcome is shown as a failure


def test_customer_pages_never_show_partner_secrets(client, acct, crm, partner):
    """Landing and details pages show neither the partner's saved values nor its secrets."""
    half = connector("half-set", "Half Set")
    PartnerAuthSettings.objects.create(partner=partner, connector=half, saved_at=timezone.now(),
                                       values={"client_id": "fake-half-client-id"})
    link, token = make_link(acct, [crm, half])
    landing = client.get(reverse("install:landing", args=[token]))
    details = client.post(reverse("install:connect", args=[token, half.slug]))
    assert details.status_code == 200 and "Client Secret" in details.content.decode()
    assert 'type="password"' in details.content.decode()
    for response in (landing, details):
        html = response.content.decode()
        assert "fake-client-secret-123" not in html and "fake-client-id" not in html
        assert "fake-half-client-id" not in html and "hatchway" not in html.lower()
