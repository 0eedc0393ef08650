"""Revocations retried after a provider outage (SECURITY.md: "provider 503 → retried later").

The provider is the in-process sandbox; its revocation endpoint is taken down (503, 429,
timeout, refused connection) or made to refuse (400) by wrapping the transport.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from connectors import http
from installs import revocation
from installs.models import Install, PendingRevocation
from installs.removal import deauthenticate, delete_install
from sandbox.models import SandboxToken, digest
from sandbox.seeding import seed_due_installs
from tests.factories import install_path, raw_value, write_raw_value
from tests.installs.conftest import foreign_ciphertext
from tests.wsgi_transport import WSGITransport

REVOKE_PATH = "/sandbox/oauth2/revoke"


class RevokeDown(WSGITransport):
    """The sandbox, except that its revocation endpoint answers `status` or raises `error`.

    `status = None` and `error = None`: the provider is back, requests reach the sandbox.
    """

    status: int | None = 503
    error: type[Exception] | None = None
    retry_after = ""
    revoke_calls: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        if not request.url.endswith(REVOKE_PATH):
            return super().send(request, **kwargs)
        type(self).revoke_calls.append(request)
        if self.error:
            raise self.error("fake outage")
        if self.status is None:
            return super().send(request, **kwargs)
        response = requests.Response()
        response.status_code = self.status
        if self.retry_after:
            response.headers["Retry-After"] = self.retry_after
        response._content = b'{"error": "unavailable"}'
        response.url, response.request = request.url, request
        return response


@pytest.fixture
def provider(monkeypatch, sandbox_transport) -> type[RevokeDown]:
    RevokeDown.status, RevokeDown.error, RevokeDown.retry_after = 503, None, ""
    RevokeDown.calls, RevokeDown.revoke_calls = [], []
    monkeypatch.setattr(http, "transport", RevokeDown)
    return RevokeDown


@pytest.fixture
def seeded(partner, sandbox_transport):
    # Tokens valid for an hour: nothing here is due for a refresh.
    return seed_due_installs(partner, 1, expires_in=3600)


@pytest.fixture
def install(seeded) -> Install:
    return Install.objects.get(pk=seeded.installs[0].pk)


def whoami(access_token: str) -> int:
    """The sandbox's /api/me status for a Bearer token (200 live, 401 revoked)."""
    return Client().get("/sandbox/api/me",
                        HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code


def refresh_token_revoked(token: str) -> bool:
    return SandboxToken.objects.get(token_hash=digest(token)).revoked_at is not None


def later(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


def deauthenticate_during_outage(install: Install, alice) -> tuple[dict, PendingRevocation]:
    """Deauthenticate while the revocation endpoint is down; the tokens and the pending row."""
    tokens = dict(install.credentials)
    assert deauthenticate(install=install, actor=alice) == "unavailable"
    return tokens, PendingRevocation.objects.get()


# --- at deauthentication ----------------------------------------------------------------


@pytest.mark.parametrize("status, error, kind", [
    (503, None, "unavailable"),
    (429, None, "unavailable"),
    (None, requests.ReadTimeout, "timeout"),
    (None, requests.ConnectionError, "unavailable"),
])
def test_outage_deletes_locally_and_keeps_an_encrypted_pending_revocation(
        provider, install, seeded, alice, status, error, kind):
    """5xx/429/timeout/no connection: credentials gone at once, only the token kept, encrypted."""
    provider.status, provider.error = status, error
    tokens, row = deauthenticate_during_outage(install, alice)
    install.refresh_from_db()
    assert install.status == Install.Status.DEAUTHENTICATED and install.credentials == {}
    assert (row.install, row.connector, row.partner) == (install, seeded.connector,
                                                         install.account.partner)
    assert row.credentials == {"refresh_token": tokens["refresh_token"]}
    assert row.values == {"client_id": seeded.client.client_id,
                          "client_secret": seeded.client_secret}
    assert row.attempts == 1 and row.last_error and "fake" not in row.last_error
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=14)
    raw_credentials, raw_values = raw_value(row, "credentials"), raw_value(row, "values")
    for secret in (tokens["refresh_token"], tokens["access_token"], "refresh_token"):
        assert secret.encode() not in raw_credentials
    assert seeded.client_secret.encode() not in raw_values
    assert b"client_secret" not in raw_values
    event = AuditEvent.objects.get(action="install.revocation_pending")
    assert event.install == install and event.actor == alice
    assert event.detail["kind"] == kind and event.detail["pending_id"] == row.pk
    assert AuditEvent.objects.get(action="install.deauthenticated").detail == {
        "revocation": "unavailable"}
    assert whoami(tokens["access_token"]) == 200  # still live at the provider: hence the retry


def test_retry_after_is_honoured(provider, install, alice):
    """A 429 with Retry-After: 600 → the first retry is not before ten minutes."""
    provider.status, provider.retry_after = 429, "600"
    _tokens, row = deauthenticate_during_outage(install, alice)
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=595)
    assert revocation.retry_revocations(now=later(9)) == {}


def test_console_says_the_revocation_will_be_retried(provider, install, admin_client):
    """The Deauthenticate button during an outage: the page says it will be retried."""
    response = admin_client.post(install_path(install, "deauthenticate"), follow=True)
    html = response.content.decode()
    assert "could not be reached" in html and "will be retried" in html
    assert PendingRevocation.objects.filter(install=install).count() == 1


def test_permanent_refusal_at_deauthentication_is_not_retried(provider, install, alice):
    """A 400 from the revocation endpoint: audited as failed, no pending row."""
    provider.status = 400
    assert deauthenticate(install=install, actor=alice) == "failed"
    assert not PendingRevocation.objects.exists()
    assert not AuditEvent.objects.filter(action="install.revocation_pending").exists()
    assert AuditEvent.objects.get(action="install.deauthenticated").detail == {
        "revocation": "failed"}


def test_successful_revocation_leaves_nothing_pending(provider, install, alice):
    """Provider up: revoked at once, no pending row."""
    provider.status = None
    tokens = dict(install.credentials)
    assert deauthenticate(install=install, actor=alice) == "revoked"
    assert not PendingRevocation.objects.exists()
    assert whoami(tokens["access_token"]) == 401


# --- retrying -----------------------------------------------------------------------------


def test_a_later_pass_revokes_once_the_provider_is_back(provider, install, alice):
    """Back-off respected; then the sandbox revokes the grant (whoami 401) and the row goes."""
    tokens, row = deauthenticate_during_outage(install, alice)
    provider.status = None
    assert revocation.retry_revocations() == {}  # not due yet
    assert len(provider.revoke_calls) == 1
    assert revocation.retry_revocations(now=later(2)) == {revocation.REVOKED: 1}
    assert not PendingRevocation.objects.exists()
    assert whoami(tokens["access_token"]) == 401
    assert refresh_token_revoked(tokens["refresh_token"])
    retry = provider.revoke_calls[-1]
    assert "token_type_hint=refresh_token" in retry.body
    event = AuditEvent.objects.get(action="install.revoked_later")
    assert event.install == install and event.actor_label == revocation.ACTOR
    assert event.detail == {"pending_id": row.pk, "install_id": install.pk, "attempts": 2}
    assert revocation.retry_revocations(now=later(60)) == {}


def test_still_down_backs_off_longer(provider, install, alice):
    """Transient again: attempts +1, the next attempt later, the row and token kept."""
    _tokens, row = deauthenticate_during_outage(install, alice)
    first_wait = row.next_attempt_at - row.created_at
    at = later(2)
    assert revocation.retry_revocations(now=at) == {revocation.POSTPONED: 1}
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at >= at + timedelta(seconds=30)  # half of 60 s at least
    assert row.next_attempt_at - at > first_wait / 2
    assert revocation.retry_revocations(now=at) == {}  # not again in the same minute


def test_permanent_refusal_on_retry_deletes_the_row(provider, install, alice, caplog):
    """The provider answers 400 on a retry: row deleted, "revocation_failed" audited."""
    _tokens, row = deauthenticate_during_outage(install, alice)
    provider.status = 400
    caplog.set_level(logging.WARNING, logger="hatchway.security")
    assert revocation.retry_revocations(now=later(2)) == {revocation.REFUSED: 1}
    assert not PendingRevocation.objects.exists()
    event = AuditEvent.objects.get(action="install.revocation_failed")
    assert event.detail == {"pending_id": row.pk, "install_id": install.pk, "attempts": 2,
                            "kind": "revoke_failed"}
    assert f"pending revocation {row.pk} " in caplog.text and "may still be valid" in caplog.text


def test_gives_up_after_max_attempts(provider, install, alice, caplog):
    """Down for good: MAX_ATTEMPTS requests in all, then the row is dropped, audited, logged."""
    tokens, row = deauthenticate_during_outage(install, alice)
    caplog.set_level(logging.WARNING, logger="hatchway.security")
    at = timezone.now()
    outcomes = []
    while PendingRevocation.objects.exists():
        at = PendingRevocation.objects.get().next_attempt_at
        outcomes += list(revocation.retry_revocations(now=at).elements())
        assert len(outcomes) < revocation.MAX_ATTEMPTS  # never loops for ever
    assert outcomes == [revocation.POSTPONED] * (revocation.MAX_ATTEMPTS - 2) + [
        revocation.GAVE_UP]
    assert len(provider.revoke_calls) == revocation.MAX_ATTEMPTS
    assert at - row.created_at >= timedelta(hours=1)  # the back-off spread them out
    event = AuditEvent.objects.get(action="install.revocation_failed")
    assert event.detail == {"pending_id": row.pk, "install_id": install.pk,
                            "attempts": revocation.MAX_ATTEMPTS, "kind": "gave_up",
                            "last_kind": "unavailable"}
    assert f"pending revocation {row.pk} (install {install.pk}" in caplog.text
    assert "gave_up" in caplog.text and tokens["refresh_token"] not in caplog.text


def test_delete_install_during_outage_keeps_retrying(provider, install, alice):
    """Deleting an install during an outage: row kept with no install, revoked later."""
    tokens = dict(install.credentials)
    assert delete_install(install=install, actor=alice) == "unavailable"
    assert not Install.objects.filter(pk=install.pk).exists()
    row = PendingRevocation.objects.get()
    assert row.install is None and row.credentials == {"refresh_token": tokens["refresh_token"]}
    pending = AuditEvent.objects.get(action="install.revocation_pending")
    assert pending.detail["install_id"] == install.pk
    assert AuditEvent.objects.get(action="install.deleted").detail == {
        "install_id": install.pk, "revocation": "unavailable", "name": install.name,
        "status": "authenticated"}
    provider.status = None
    assert revocation.retry_revocations(now=later(2)) == {revocation.REVOKED: 1}
    assert whoami(tokens["access_token"]) == 401
    assert not PendingRevocation.objects.exists()
    event = AuditEvent.objects.get(action="install.revoked_later")
    assert event.install is None and event.detail["pending_id"] == row.pk


def test_unreadable_row_is_dropped_and_reported(provider, install, alice, caplog):
    """A row no configured key decrypts: nothing to send, dropped with an audit event."""
    _tokens, row = deauthenticate_during_outage(install, alice)
    write_raw_value(row, "credentials", foreign_ciphertext({"refresh_token": "fake-x"}))
    caplog.set_level(logging.WARNING, logger="hatchway.security")
    assert revocation.retry_revocations(now=later(2)) == {revocation.REFUSED: 1}
    assert len(provider.revoke_calls) == 1  # only the one at deauthentication
    assert not PendingRevocation.objects.exists()
    assert AuditEvent.objects.get(action="install.revocation_failed").detail["kind"] == (
        "credentials_unreadable")


def test_unexpected_error_is_retried_not_lost(provider, install, seeded, alice, monkeypatch,
                                              caplog):
    """A bug in a method during a retry: the row stays, attempts +1, tried again later."""
    _tokens, row = deauthenticate_during_outage(install, alice)
    caplog.set_level(logging.DEBUG)

    def broken(context):
        raise ValueError(f"a bug quoting {context.values['client_secret']}")

    monkeypatch.setattr(revocation, "build_method", broken)
    assert revocation.retry_revocations(now=later(2)) == {revocation.POSTPONED: 1}
    row.refresh_from_db()
    assert row.attempts == 2 and row.last_error == revocation.UNEXPECTED_MESSAGE
    assert row.next_attempt_at > later(2)
    assert "unexpected ValueError" in caplog.text
    assert seeded.client_secret not in caplog.text


def test_refresh_tokens_command_retries_and_prints_counts(provider, install, alice):
    """`manage.py refresh_tokens` runs the retry in its pass and prints the counts."""
    tokens, _row = deauthenticate_during_outage(install, alice)
    PendingRevocation.objects.update(next_attempt_at=timezone.now())
    provider.status = None
    out = StringIO()
    call_command("refresh_tokens", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Token refresh pass: 0 refreshed")
    assert lines[1].startswith("Pending revocations: 1 revoked in ")
    assert whoami(tokens["access_token"]) == 401
    assert not PendingRevocation.objects.exists()


def test_no_token_or_secret_in_logs_or_audit(provider, install, seeded, alice, caplog):
    """Outage, back-off, refusal, give-up and success logged at DEBUG: no token, no secret."""
    caplog.set_level(logging.DEBUG)
    tokens, _row = deauthenticate_during_outage(install, alice)
    revocation.retry_revocations(now=later(2))
    provider.status = None
    revocation.retry_revocations(now=later(60))
    details = " ".join(str(e.detail) for e in AuditEvent.objects.all())
    for secret in (tokens["access_token"], tokens["refresh_token"], seeded.client_secret):
        assert secret not in caplog.text and secret not in details
    assert "revocation" in caplog.text  # it was logged, just safely


# --- PostgreSQL: two workers, one due row -----------------------------------------------


class SlowRevoke(WSGITransport):
    """The sandbox, answering revocations after two seconds (so two workers overlap)."""

    in_flight = threading.Event()
    revoke_calls = 0

    def send(self, request, **kwargs):
        if request.url.endswith(REVOKE_PATH):
            type(self).revoke_calls += 1
            type(self).in_flight.set()
            time.sleep(2.0)
        return super().send(request, **kwargs)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs PostgreSQL for row locks (FOR UPDATE SKIP LOCKED)")
def test_two_workers_send_one_revocation(transactional_db, partner, alice, monkeypatch):
    """Two passes race for one due row: one revokes, the other skips it; one request."""
    from django.db import connections

    provider_down = RevokeDown
    provider_down.status, provider_down.error, provider_down.revoke_calls = 503, None, []
    monkeypatch.setattr(http, "transport", provider_down)
    seeded = seed_due_installs(partner, 1, expires_in=3600)
    install = Install.objects.get(pk=seeded.installs[0].pk)
    tokens, row = deauthenticate_during_outage(install, alice)
    SlowRevoke.in_flight, SlowRevoke.revoke_calls = threading.Event(), 0
    monkeypatch.setattr(http, "transport", SlowRevoke)
    at = later(2)
    results: list = []

    def worker():
        try:
            results.append(revocation.retry_revocations(now=at))
        finally:
            connections.close_all()

    first = threading.Thread(target=worker)
    first.start()
    assert SlowRevoke.in_flight.wait(5)  # the first worker holds the row, mid-request
    second = threading.Thread(target=worker)
    second.start()
    second.join(1.5)
    assert not second.is_alive() and first.is_alive()  # skipped the locked row, no waiting
    first.join(10)
    assert sorted(sum(r.values()) for r in results) == [0, 1]
    assert SlowRevoke.revoke_calls == 1
    assert not PendingRevocation.objects.filter(pk=row.pk).exists()
    assert whoami(tokens["access_token"]) == 401
    assert AuditEvent.objects.filter(action="install.revoked_later").count() == 1
