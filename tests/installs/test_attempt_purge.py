"""Abandoned sign-ins do not keep their secrets: refresh_tokens wipes expired attempts."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account
from installs.models import AuthAttempt, Install
from tests.factories import make_connector

CONNECTOR = {
    "name": "Purge Test", "description": "d",
    "auth": {"type": "oauth2", "authorize_url": "https://purge.example/a",
             "token_url": "https://purge.example/t"},
    "fields": [{"key": "client_id", "label": "Client ID"}],
}


def attempt(install: Install, *, age: timedelta, lifetime: timedelta) -> AuthAttempt:
    row = AuthAttempt.objects.create(install=install, session_hash="x" * 64,
                                     secrets={"code_verifier": "fake-verifier-purge"},
                                     expires_at=timezone.now() - age + lifetime)
    AuthAttempt.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def test_refresh_pass_wipes_expired_attempts_and_deletes_old_ones(partner):
    """Expired + unused → consumed with secrets wiped; 30+ days old → deleted; live → kept."""
    account = Account.objects.create(partner=partner, name="A", external_id="a-1")
    install = Install.objects.create(account=account, connector=make_connector("purge", CONNECTOR))
    live = attempt(install, age=timedelta(minutes=1), lifetime=AuthAttempt.LIFETIME)
    expired = attempt(install, age=timedelta(hours=1), lifetime=AuthAttempt.LIFETIME)
    ancient = attempt(install, age=timedelta(days=31), lifetime=AuthAttempt.LIFETIME)

    call_command("refresh_tokens", stdout=StringIO())

    live.refresh_from_db()
    expired.refresh_from_db()
    assert live.used_at is None and live.secrets == {"code_verifier": "fake-verifier-purge"}
    assert expired.used_at is not None and expired.secrets == {}
    assert not AuthAttempt.objects.filter(pk=ancient.pk).exists()
