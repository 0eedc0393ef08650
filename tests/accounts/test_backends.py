"""The session's user is loaded with their membership and partner in one query
(accounts.backends.MemberBackend); everything ModelBackend refused stays refused."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, client_for

LIBRARY = reverse("connectors:library")


def test_login_then_a_page_loads_the_membership_with_the_user(client, alice):
    """Logged in through the login form: the page's one user query also brings the
    membership and the partner (without its logo); no query of the membership table of its own."""
    client.post(reverse("login"), {"username": "alice@acme.test", "password": PASSWORD})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIBRARY)
    assert response.status_code == 200 and "Acme" in response.content.decode()
    users = [q["sql"] for q in queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(users) == 1 and '"accounts_membership"' in users[0]
    assert '"accounts_partner"."logo"' not in users[0]
    assert not [q for q in queries if q["sql"].startswith('SELECT') and
                'FROM "accounts_membership"' in q["sql"]]


def test_a_user_without_a_membership_is_refused(db):
    """Logged in, but a member of no partner: 403, as before."""
    loner = User.objects.create_user(email="loner@nowhere.test", password=PASSWORD)
    response = client_for(loner).get(LIBRARY)
    assert response.status_code == 403


def test_a_user_deactivated_while_logged_in_is_logged_out(alice):
    """The next request after deactivation finds no user: back to the login page."""
    client = client_for(alice)
    assert client.get(LIBRARY).status_code == 200
    User.objects.filter(pk=alice.pk).update(is_active=False)
    response = client.get(LIBRARY)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_session_of_the_previous_backend_asks_to_log_in_again(alice):
    """Sessions made before MemberBackend name Django's ModelBackend, no longer
    configured: their users log in again (they are not let in as somebody else)."""
    client = client_for(alice)
    session = client.session
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    response = client.get(LIBRARY)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
