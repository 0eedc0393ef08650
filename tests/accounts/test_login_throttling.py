"""SECURITY.md "Login and sessions": repeated failed logins, console and admin, for one
email or from one address, are refused for a while (429), logged and audited, and say
nothing about whether the email exists."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from tests.factories import PASSWORD

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
LIMIT = 5  # LOGIN_FAILURE_LIMIT's default


def browser(address: str = "203.0.113.7") -> Client:
    return Client(REMOTE_ADDR=address)


def fail(client: Client, email: str, times: int = LIMIT, url: str = LOGIN) -> None:
    for _ in range(times):
        client.post(url, {"username": email, "password": "fake-wrong-password"})


def log_in(client: Client, email: str, url: str = LOGIN):
    return client.post(url, {"username": email, "password": PASSWORD})


def test_after_repeated_failures_the_right_password_is_refused(alice):
    """Five failures for one email: the sixth login, right password and all, is a 429."""
    client = browser()
    fail(client, "alice@acme.test")
    response = log_in(client, "alice@acme.test")
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_one_email_is_locked_from_every_address(alice):
    """The email's count holds whatever address the attempts come from."""
    for number in range(LIMIT):
        fail(browser(f"198.51.100.{number + 1}"), "alice@acme.test", times=1)
    response = log_in(browser("192.0.2.99"), "Alice@Acme.test")
    assert response.status_code == 429


def test_one_address_is_locked_for_every_email(alice, victor):
    """Failures for many emails from one address lock that address out, for alice too."""
    client = browser()
    for number in range(LIMIT):
        fail(client, f"guess{number}@acme.test", times=1)
    assert log_in(client, "alice@acme.test").status_code == 429
    elsewhere = browser("192.0.2.10")
    assert log_in(elsewhere, "victor@acme.test").status_code == 302


def test_before_the_limit_the_right_password_works(alice):
    """Four failures do not lock: the right password still logs in."""
    client = browser()
    fail(client, "alice@acme.test", times=LIMIT - 1)
    assert log_in(client, "alice@acme.test").status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_lockout_ends_after_the_cool_off(alice):
    """Once LOGIN_LOCKOUT_MINUTES have passed since the last failure, logging in works."""
    client = browser()
    fail(client, "alice@acme.test")
    assert log_in(client, "alice@acme.test").status_code == 429
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=16)
        attempt.save()
    assert log_in(client, "alice@acme.test").status_code == 302


def test_the_limits_are_settings(alice, settings):
    """LOGIN_FAILURE_LIMIT / LOGIN_LOCKOUT_MINUTES set AXES_FAILURE_LIMIT / AXES_COOLOFF_TIME."""
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)
    client = browser()
    fail(client, "alice@acme.test", times=2)
    response = log_in(client, "alice@acme.test")
    assert response.status_code == 429 and "Try again in 3 minutes" in response.content.decode()


def test_unknown_emails_get_the_same_answers(alice):
    """Failure page and lockout page are the same for an unknown email as for alice's."""
    known, unknown = browser("203.0.113.1"), browser("203.0.113.2")
    pages = []
    for client, email in ((known, "alice@acme.test"), (unknown, "nobody@acme.test")):
        first = client.post(LOGIN, {"username": email, "password": "fake-wrong-password"})
        fail(client, email, times=LIMIT - 1)
        locked = log_in(client, email)
        pages.append((first.status_code, locked.status_code, locked.content,
                       locked["Retry-After"]))
    assert pages[0][:2] == pages[1][:2] == (200, 429)
    assert pages[0][2:] == pages[1][2:]


def test_the_admin_login_is_throttled_too(alice):
    """Failures on the admin's login count too, in any letter case; its lockout is a 429."""
    client = browser()
    fail(client, "ALICE@acme.test", url=ADMIN_LOGIN)
    assert log_in(client, "alice@acme.test", url=ADMIN_LOGIN).status_code == 429
    assert log_in(browser("192.0.2.5"), "alice@acme.test").status_code == 429


def test_failures_and_the_lockout_are_audited_for_the_partner(alice, partner):
    """Each failure is an audit event of alice's partner; the lockout one more."""
    fail(browser(), "alice@acme.test", times=LIMIT + 1)
    failed = AuditEvent.objects.filter(partner=partner, action="login.failed")
    assert failed.count() == LIMIT + 1
    assert failed.first().detail["email"] == "alice@acme.test"
    assert failed.first().detail["ip_address"] == "203.0.113.7"
    assert failed.first().actor_label == "login attempt"
    locked = AuditEvent.objects.get(action="login.locked_out")
    assert locked.partner == partner and locked.detail["page"] == "console"
    assert not any("fake-wrong-password" in str(e.detail) for e in AuditEvent.objects.all())


def test_unknown_emails_go_to_the_security_log_only(db, caplog):
    """No partner is known for an unknown email: security log events, no audit event."""
    with caplog.at_level(logging.WARNING, logger="hatchway.security"):
        fail(browser(), "nobody@acme.test")
    messages = [r.getMessage() for r in caplog.records if r.name == "hatchway.security"]
    assert sum("login failed: 'nobody@acme.test'" in m for m in messages) == LIMIT
    assert sum("login locked out: 'nobody@acme.test'" in m for m in messages) == 1
    assert not AuditEvent.objects.exists()
    assert not any("fake-wrong-password" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("forwarded", ["198.51.100.1", "10.0.0.1, 198.51.100.1"])
def test_a_forged_forwarded_for_does_not_escape_the_count(alice, forwarded):
    """Without BEHIND_PROXY the socket's address counts, whatever X-Forwarded-For says."""
    client = browser()
    for number in range(LIMIT):
        client.post(LOGIN, {"username": f"guess{number}@acme.test", "password": "x"},
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    response = client.post(LOGIN, {"username": "alice@acme.test", "password": PASSWORD},
                           HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 429
