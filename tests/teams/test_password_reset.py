"""Password reset by email: same answer for every email, throttled, single use, and the
user's other sessions end."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from audit.models import Action, AuditEvent
from tests.factories import PASSWORD, client_for

RESET = reverse("password_reset")
LIBRARY = reverse("connectors:library")
NEW_PASSWORD = "violet-lantern-harbour-91"
LINK = re.compile(r"http://testserver(/reset/[^\s]+/)")


def ask(client: Client, email: str, **extra):
    return client.post(RESET, {"email": email}, **extra)


def reset_path() -> str:
    return LINK.findall(mail.outbox[-1].body)[-1]


def choose(client: Client, path: str, password: str = NEW_PASSWORD):
    """Open the link (Django moves the token into the session) and set the password."""
    form_url = client.get(path).url
    return client.post(form_url, {"new_password1": password, "new_password2": password})


def test_the_login_page_offers_forgot_password(client, db):
    """"Forgot password?" links to the reset page."""
    html = client.get(reverse("login")).content.decode()
    assert f'<a href="{RESET}">Forgot password?</a>' in html


def test_known_and_unknown_emails_get_the_same_answer(client, alice):
    """Both redirect to the same page; only the known email gets a message."""
    known = ask(client, "alice@acme.test")
    unknown = ask(client, "nobody@acme.test")
    assert known.status_code == unknown.status_code == 302 and known.url == unknown.url
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@acme.test"]


def test_the_link_is_built_from_public_url_not_the_host_header(client, alice):
    """A forged Host cannot point the emailed link at another site."""
    with override_settings(ALLOWED_HOSTS=["*"]):
        ask(client, "alice@acme.test", HTTP_HOST="evil.example")
    assert "evil.example" not in mail.outbox[-1].body
    assert "http://testserver/reset/" in mail.outbox[-1].body


def test_reset_sets_the_password_ends_other_sessions_and_is_audited(client, alice):
    """The new password works, the old does not, alice's open session ends."""
    elsewhere = client_for(alice)
    assert elsewhere.get(LIBRARY).status_code == 200
    ask(client, "alice@acme.test")
    response = choose(client, reset_path())
    assert response.status_code == 302 and response.url == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and not alice.check_password(PASSWORD)
    response = elsewhere.get(LIBRARY)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert AuditEvent.objects.filter(action=Action.PASSWORD_RESET, actor=alice).exists()


def test_the_link_works_once(client, alice):
    """A second use of the same link is refused; the password stays the first new one."""
    ask(client, "alice@acme.test")
    path = reset_path()
    choose(client, path)
    other = Client()
    response = other.get(path)
    assert response.status_code == 200 and "cannot be used" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_weak_new_password_is_refused(client, alice):
    """Django's validators apply; the password is unchanged."""
    ask(client, "alice@acme.test")
    response = choose(client, reset_path(), password="password")
    assert response.status_code == 200 and "too common" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@override_settings(PASSWORD_RESET_LIMIT=2)
def test_requests_are_throttled_per_address_alike_for_every_email(client, alice):
    """Past the limit from one address: 429 for known and unknown emails alike."""
    ask(client, "nobody@acme.test")
    ask(client, "nobody2@acme.test")
    for email in ("alice@acme.test", "nobody@acme.test"):
        response = ask(client, email)
        assert response.status_code == 429
        assert "Too many reset requests" in response.content.decode()
    assert len(mail.outbox) == 0


@override_settings(PASSWORD_RESET_LIMIT=2)
def test_one_email_gets_no_more_messages_past_the_limit(alice):
    """From different addresses: the answer stays the same, the emails stop."""
    for n in range(4):
        response = ask(Client(REMOTE_ADDR=f"10.0.0.{n}"), "alice@acme.test")
        assert response.status_code == 302
    assert len(mail.outbox) == 2


def test_the_token_is_not_logged(client, alice, json_log):
    """The reset link's token appears in no log line, also on the refused second use."""
    ask(client, "alice@acme.test")
    path = reset_path()
    token = path.rstrip("/").rsplit("/", 1)[-1]
    choose(client, path)
    Client().get(path)
    assert token not in json_log.getvalue()
