"""Logging in and out of the console; every console page requires a login."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

LOGIN = reverse("login")


def test_login_page_has_email_password_and_button(client, db):
    """The login form has fields labelled Email and Password and a Log in button."""
    html = client.get(LOGIN).content.decode()
    assert '<label for="id_username">Email</label>' in html
    assert 'type="email" name="username"' in html
    assert '<label for="id_password">Password</label>' in html
    assert '<button type="submit" class="primary">Log in</button>' in html


def test_login_works_and_lands_on_library(client, alice):
    """The right email and password log in and redirect to the library."""
    response = client.post(LOGIN, {"username": "alice@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("connectors:library")
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_login_email_is_case_insensitive(client, alice):
    """Emails are stored lower-case; typing them in capitals still logs in."""
    client.post(LOGIN, {"username": "ALICE@acme.test", "password": PASSWORD})
    assert client.session.get("_auth_user_id") == str(alice.pk)


def test_login_follows_next(client, alice):
    """After login the user goes to the page that asked for it."""
    guides = reverse("connectors:guides")
    response = client.post(f"{LOGIN}?next={guides}",
                           {"username": "alice@acme.test", "password": PASSWORD,
                            "next": guides})
    assert response.url == guides


def test_login_refuses_offsite_next(client, alice):
    """An off-site `next` is ignored (no open redirect)."""
    response = client.post(LOGIN, {"username": "alice@acme.test", "password": PASSWORD,
                                   "next": "https://evil.example/"})
    assert response.url == reverse("connectors:library")


def test_wrong_password_shows_an_error(client, alice):
    """A wrong password re-shows the form with an error and logs nobody in."""
    response = client.post(LOGIN, {"username": "alice@acme.test", "password": "wrong-password"})
    assert response.status_code == 200
    assert "Please enter a correct email and password." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert "wrong-password" not in response.content.decode()


def test_inactive_user_cannot_log_in(client, alice):
    """A deactivated user is refused."""
    alice.is_active = False
    alice.save()
    client.post(LOGIN, {"username": "alice@acme.test", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("name", ["connectors:library", "connectors:guides"])
def test_pages_require_login(client, db, name):
    """Console pages redirect anonymous visitors to the login page with `next`."""
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={url}"


@pytest.mark.parametrize("name", ["connectors:settings", "connectors:guide"])
def test_connector_pages_require_login(client, db, name):
    """Per-connector pages redirect anonymous visitors too (even for unknown slugs)."""
    response = client.get(reverse(name, args=["1st-connect"]))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_user_without_membership_is_forbidden(client, db):
    """A logged-in user who belongs to no partner gets 403, not a page."""
    from accounts.models import User

    user = User.objects.create_user(email="nobody@acme.test", password=PASSWORD)
    client.force_login(user)
    assert client.get(reverse("connectors:library")).status_code == 403


def test_logout_is_a_post(admin_client):
    """The Log out button posts to logout; afterwards pages require login again."""
    html = admin_client.get(reverse("connectors:library")).content.decode()
    assert f'<form method="post" action="{reverse("logout")}">' in html
    assert admin_client.get(reverse("logout")).status_code == 405
    response = admin_client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == LOGIN
    assert admin_client.get(reverse("connectors:library")).status_code == 302
