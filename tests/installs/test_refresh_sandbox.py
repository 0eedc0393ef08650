"""Refreshing real sandbox tokens in-process: rotation, outages, invalid_grant, the command."""

from __future__ import annotations

import logging
import os
import signal
import tomllib
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from requests.adapters import BaseAdapter

from audit.models import AuditEvent
from connectors import http
from connectors.models import PartnerAuthSettings
from connectors.spec import CATALOG_DIR
from installs import refresh
from installs.models import Install
from installs.values import method_for
from sandbox import services as sandbox
from sandbox.models import SandboxToken, digest
from sandbox.seeding import sandbox_accepts, seed_due_installs
from tests.factories import make_connector

pytestmark = pytest.mark.django_db


class Outage(BaseAdapter):
    """A provider that is down: every request gets `status` (or raises `error`)."""

    status = 503
    error: type[Exception] | None = None
    calls = 0

    def send(self, request, **kwargs):
        type(self).calls += 1
        if self.error:
            raise self.error("fake outage")
        response = requests.Response()
        response.status_code = self.status
        response.headers["Retry-After"] = "120"
        response._content = b"<html>Service Unavailable</html>"
        response.url, response.request = request.url, request
        return response

    def close(self):
        pass


@pytest.fixture
def seeded(partner, sandbox_transport):
    return seed_due_installs(partner, 3)


def stored(install: Install) -> dict:
    return Install.objects.get(pk=install.pk).credentials


def test_pass_refreshes_with_rotation(seeded):
    """One pass: each install refreshed once at the sandbox, new tokens accepted, old refused."""
    old = [stored(i) for i in seeded.installs]
    before = sandbox.refresh_count()
    assert refresh.run_pass() == {refresh.REFRESHED: 3}
    assert sandbox.refresh_count() - before == 3
    for install, previous in zip(seeded.installs, old, strict=True):
        new = stored(install)
        assert new["refresh_token"] != previous["refresh_token"]
        assert sandbox_accepts(new) and not sandbox_accepts(previous)
        install.refresh_from_db()
        assert install.status == Install.Status.AUTHENTICATED
        assert install.expires_at > timezone.now() + timedelta(minutes=50)
    assert refresh.run_pass() == {}  # nothing due any more


@pytest.mark.parametrize("status, error, kind", [
    (503, None, "unavailable"),
    (429, None, "unavailable"),
    (None, requests.ReadTimeout, "timeout"),
    (None, requests.ConnectionError, "unavailable"),
])
def test_outage_keeps_tokens_then_recovers(seeded, monkeypatch, sandbox_transport, status,
                                           error, kind):
    """5xx/429/timeout/connection error → tokens intact, Refresh failing; next pass recovers."""
    install = seeded.installs[0]
    original = stored(install)
    Outage.status, Outage.error, Outage.calls = status, error, 0
    monkeypatch.setattr(http, "transport", Outage)
    assert refresh.run_pass() == {refresh.FAILING: 3}
    assert Outage.calls == 3
    install.refresh_from_db()
    assert install.status == Install.Status.REFRESH_FAILING
    assert install.get_status_display() == "Refresh failing"
    assert install.credentials == original and sandbox_accepts(original)
    assert install.next_refresh_at >= timezone.now() + timedelta(seconds=14)
    assert install.last_error and "fake" not in install.last_error
    assert AuditEvent.objects.filter(action="install.refresh_failed",
                                     detail__kind=kind).count() == 3
    if status == 429:  # Retry-After: 120 honoured
        assert install.next_refresh_at >= timezone.now() + timedelta(seconds=115)

    monkeypatch.setattr(http, "transport", sandbox_transport)  # the provider is back
    assert refresh.run_pass() == {}  # still backing off
    later = timezone.now() + timedelta(minutes=3)
    assert refresh.run_pass(now=later) == {refresh.REFRESHED: 3}
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED and install.refresh_failures == 0
    assert sandbox_accepts(install.credentials)


def test_rejected_refresh_token_requires_reauthentication(seeded, sandbox_transport):
    """A refresh token the sandbox no longer accepts → Reauthentication required, row kept."""
    install = seeded.installs[0]
    sandbox_transport.calls = []
    # Someone else (e.g. a copy of the token) used it up: the sandbox rejects reuse.
    original = stored(install)
    SandboxToken.objects.filter(token_hash=digest(original["refresh_token"])).update(
        used_at=timezone.now())
    assert refresh.refresh_install(install.pk) == refresh.REAUTH_REQUIRED
    install.refresh_from_db()
    assert install.get_status_display() == "Reauthentication required"
    assert install.credentials == original
    assert "invalid_grant" in install.last_error
    assert len(sandbox_transport.calls) == 1
    event = AuditEvent.objects.get(action="install.refresh_failed")
    assert event.detail == {"kind": "invalid_grant", "status": "reauth_required",
                            "previous_status": "authenticated"}


def test_ensure_fresh_refreshes_an_expiring_token_before_use(seeded, sandbox_transport):
    """Using credentials (ensure_fresh, then a session) refreshes an expiring token first."""
    install = refresh.ensure_fresh(Install.objects.get(pk=seeded.installs[0].pk))
    session = method_for(install).session(dict(install.credentials))
    response = session.get("http://testserver/sandbox/api/me")
    assert response.status_code == 200
    assert Install.objects.get(pk=install.pk).last_refreshed_at is not None
    assert sandbox.refresh_count() == 1


def test_client_credentials_token_is_fetched_anew(partner, sandbox_transport):
    """A client-credentials install is 'refreshed' by fetching a new token."""
    seeded = seed_due_installs(partner, 1)
    data = tomllib.loads((CATALOG_DIR / "sandbox-client-credentials.toml").read_text())
    connector = make_connector("sandbox-client-credentials", data)
    PartnerAuthSettings.objects.create(
        partner=partner, connector=connector, values={"client_id": seeded.client.client_id},
        secret_values={"client_secret": seeded.client_secret}, saved_at=timezone.now())
    install = Install.objects.create(
        account=seeded.account, connector=connector, status=Install.Status.AUTHENTICATED,
        credentials={"access_token": "fake-old-cc-token", "token_type": "Bearer"},
        expires_at=timezone.now() + timedelta(seconds=30))
    assert refresh.refresh_install(install.pk) == refresh.REFRESHED
    install.refresh_from_db()
    assert install.credentials["access_token"] != "fake-old-cc-token"
    assert "refresh_token" not in install.credentials
    assert sandbox.issued_count("client_credentials") == 1


def test_command_one_pass_prints_summary(seeded):
    """`manage.py refresh_tokens` runs one pass and says what it did."""
    out = StringIO()
    call_command("refresh_tokens", stdout=out)
    assert out.getvalue().startswith("Token refresh pass: 3 refreshed in ")
    assert sandbox.refresh_count() == 3


def test_command_loop_stops_gracefully_on_sigterm(seeded, monkeypatch):
    """--loop: SIGTERM during a pass finishes the install in hand, then exits cleanly."""
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    real_refresh = refresh._refresh_guarded
    handled = []

    def refresh_then_sigterm(install, now, *rest):
        outcome = real_refresh(install, now, *rest)
        handled.append(outcome)
        if len(handled) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return outcome

    monkeypatch.setattr(refresh, "_refresh_guarded", refresh_then_sigterm)
    out = StringIO()
    call_command("refresh_tokens", "--loop", "--interval", "60", stdout=out)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == previous
    assert handled == [refresh.REFRESHED]  # stopped after the first install, not mid-way
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0], "Stopped."]
    assert "1 refreshed" in out.getvalue()
    assert Install.objects.filter(last_refreshed_at__isnull=False).count() == 1


def test_no_token_in_logs_at_debug(seeded, monkeypatch, sandbox_transport, caplog):
    """Refresh success, outage and rejection logged at DEBUG: no token or secret appears."""
    old = [stored(i) for i in seeded.installs]
    caplog.set_level(logging.DEBUG)
    refresh.refresh_install(seeded.installs[0].pk)
    Outage.status, Outage.error = 503, None
    monkeypatch.setattr(http, "transport", Outage)
    refresh.refresh_install(seeded.installs[1].pk)
    monkeypatch.setattr(http, "transport", sandbox_transport)
    SandboxToken.objects.filter(token_hash=digest(old[2]["refresh_token"])).update(
        used_at=timezone.now())
    refresh.refresh_install(seeded.installs[2].pk)
    secrets = [seeded.client_secret, *(v for c in old for v in c.values() if len(v) > 12),
               *stored(seeded.installs[0]).values()]
    assert "token refreshed" in caplog.text and "reauthentication required" in caplog.text
    leaked = [s for s in secrets if len(s) > 12 and s in caplog.text]
    assert leaked == []
