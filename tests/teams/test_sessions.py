"""The Security page's sessions: each login listed with its device and last seen; one or
all others ended; another user's session cannot be ended."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from teams.models import ConsoleSession
from tests.factories import PASSWORD

SECURITY = reverse("teams:security")
LIBRARY = reverse("connectors:library")


def browser(user_agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent)
    client.post(reverse("login"), {"username": "alice@acme.test", "password": PASSWORD})
    return client


def test_each_login_is_listed_with_its_device(alice):
    """Two logins: both on the Security page, this one marked, the other with End session."""
    laptop, _phone = browser("Firefox on Linux"), browser("Safari on iPhone")
    html = laptop.get(SECURITY).content.decode()
    assert "Firefox on Linux" in html and "Safari on iPhone" in html
    assert html.count("This session") == 1 and html.count(">End session</button>") == 1
    assert laptop.session.session_key not in html


def test_ending_another_session_logs_it_out(alice):
    """The phone's session ends at once; the laptop's stays."""
    laptop, phone = browser("Firefox on Linux"), browser("Safari on iPhone")
    row = ConsoleSession.objects.get(user_agent="Safari on iPhone")
    laptop.post(reverse("teams:end_session", args=[row.pk]))
    response = phone.get(LIBRARY)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert laptop.get(LIBRARY).status_code == 200
    assert not ConsoleSession.objects.filter(pk=row.pk).exists()


def test_end_all_other_sessions(alice):
    """Every other session ends; this one is kept."""
    laptop, phone, tablet = browser("A"), browser("B"), browser("C")
    laptop.post(reverse("teams:end_other_sessions"))
    assert phone.get(LIBRARY).status_code == 302 and tablet.get(LIBRARY).status_code == 302
    assert laptop.get(LIBRARY).status_code == 200
    assert list(ConsoleSession.objects.values_list("user_agent", flat=True)) == ["A"]


def test_another_users_session_cannot_be_ended(alice, other_client, mallory):
    """Mallory posts alice's session id: 404, alice stays logged in."""
    laptop = browser("Firefox on Linux")
    row = ConsoleSession.objects.get(user=alice)
    assert other_client.post(reverse("teams:end_session", args=[row.pk])).status_code == 404
    assert laptop.get(LIBRARY).status_code == 200


def test_last_seen_is_updated_at_most_every_five_minutes(alice):
    """A request more than five minutes after the last one seen moves "last seen"."""
    from datetime import timedelta

    from django.utils import timezone

    from teams.sessions import SEEN_KEY

    laptop = browser("Firefox on Linux")
    long_ago = timezone.now() - timedelta(hours=1)
    ConsoleSession.objects.update(last_seen_at=long_ago)
    laptop.get(LIBRARY)
    assert ConsoleSession.objects.get().last_seen_at == long_ago  # within five minutes
    session = laptop.session
    session[SEEN_KEY] -= 600
    session.save()
    laptop.get(LIBRARY)
    assert ConsoleSession.objects.get().last_seen_at > long_ago


def test_changing_the_password_ends_the_other_sessions(alice):
    """The laptop changes the password and stays logged in; the phone is logged out."""
    laptop, phone = browser("Firefox on Linux"), browser("Safari on iPhone")
    new = "violet-lantern-harbour-91"
    response = laptop.post(reverse("teams:password_change"), {
        "old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302 and response.url == SECURITY
    assert laptop.get(LIBRARY).status_code == 200
    assert phone.get(LIBRARY).status_code == 302
    assert list(ConsoleSession.objects.values_list("user_agent", flat=True)) == [
        "Firefox on Linux"]
    alice.refresh_from_db()
    assert alice.check_password(new)


def test_a_wrong_old_password_changes_nothing(alice):
    """The form again with an error; the password and the other sessions unchanged."""
    laptop, phone = browser("A"), browser("B")
    response = laptop.post(reverse("teams:password_change"), {
        "old_password": "wrong", "new_password1": "violet-lantern-harbour-91",
        "new_password2": "violet-lantern-harbour-91"})
    assert response.status_code == 200 and phone.get(LIBRARY).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
