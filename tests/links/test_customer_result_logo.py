"""The result page wears the partner's logo like the other customer pages."""

from __future__ import annotations

from django.urls import reverse

from installs.models import Install
from links import browser
from tests.factories import account, connector, customer_session, make_link


def test_result_page_shows_the_partners_logo(client, partner, rf):
    """After a link install the result page shows the logo, served from this browser's result."""
    partner.logo, partner.logo_content_type = b"\x89PNG fake", "image/png"
    partner.save()
    acct = account(partner)
    crm = connector("crm-one", "CRM One", partner)
    link, _ = make_link(acct, [crm])
    install = Install.objects.create(account=acct, connector=crm)
    request = rf.get("/")
    request.session = customer_session(client)
    browser.finish_link(request, link=link, install=install, outcome="connected")
    request.session.save()
    html = client.get(reverse("install:result")).content.decode()
    assert f'src="{reverse("install:result_logo")}"' in html
    logo = client.get(reverse("install:result_logo"))
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert logo["X-Content-Type-Options"] == "nosniff"


def test_result_logo_needs_a_result_in_this_browser(client, partner):
    """Without a recent result in the session there is no logo to serve (404)."""
    partner.logo, partner.logo_content_type = b"\x89PNG fake", "image/png"
    partner.save()
    assert client.get(reverse("install:result_logo")).status_code == 404
