"""SECURITY.md "Requests and responses": customer pages submit inside an iframe on an
allowlisted origin -- their own SameSite=None; Secure cookie, holding nothing of the
console's, whose cookie stays Lax -- and their CSRF failure page wears the partner's
branding."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from installs.models import Install
from links import browser
from tests.factories import PASSWORD, account, connector, make_link

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def link_token(partner) -> str:
    partner.allowed_frame_origins = ["https://app.acme.test"]
    partner.save()
    _link, token = make_link(account(partner), [connector("crm-one", "CRM One", partner)])
    return token


def test_customer_pages_have_their_own_none_secure_cookie(link_token):
    """The landing page sets install_session (SameSite=None; Secure; HttpOnly; Partitioned),
    no Lax one."""
    client = Client(enforce_csrf_checks=True)
    response = client.get(reverse("install:landing", args=[link_token]))
    cookie = response.cookies["install_session"]
    assert "SameSite=None; Partitioned" in cookie.OutputString()
    assert cookie["secure"] is True
    assert cookie["httponly"] is True and cookie["path"] == "/"
    csrf = response.cookies["install_csrftoken"]
    assert "SameSite=None; Partitioned" in csrf.OutputString() and csrf["secure"] is True
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_connect_works_with_the_customer_cookie_alone(link_token):
    """In a cross-site frame only the SameSite=None cookie is sent: Connect still passes CSRF."""
    client = Client(enforce_csrf_checks=True)
    landing = client.get(reverse("install:landing", args=[link_token]))
    token = CSRF_RE.search(landing.content.decode()).group(1)
    assert set(client.cookies) == {"install_session", "install_csrftoken"}
    response = client.post(reverse("install:connect", args=[link_token, "crm-one"]),
                           {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"].startswith("https://auth.example.com/authorize")
    assert Install.objects.count() == 1


def test_the_console_session_is_not_the_customers(admin_client, link_token):
    """An admin opening a link: the console session is untouched, Lax, and still logged in."""
    admin_client.get(reverse("install:landing", args=[link_token]))
    assert browser.SESSION_LINK not in admin_client.session
    assert admin_client.get(reverse("connectors:library")).status_code == 200
    login = Client().post(reverse("login"), {"username": "alice@acme.test",
                                             "password": PASSWORD})
    assert login.cookies["sessionid"]["samesite"] == "Lax"
    assert "install_session" not in login.cookies


def test_csrf_failure_on_customer_pages_is_branded(link_token, partner):
    """A Connect without its CSRF token: 403 in the partner's branding, no platform name."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("install:connect", args=[link_token, "crm-one"]))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Page expired" in html and "Acme" in html
    assert "hatchway" not in html.lower() and "CSRF verification failed" not in html
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors https://app.acme.test" in csp
    assert not Install.objects.exists()


def test_csrf_failure_elsewhere_is_djangos_403(db):
    """The console's (and the login's) CSRF failure stays Django's plain 403."""
    response = Client(enforce_csrf_checks=True).post(reverse("login"), {"username": "x"})
    assert response.status_code == 403
    assert "CSRF verification failed" in response.content.decode()
