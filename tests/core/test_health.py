"""`/healthz/live` and `/healthz/ready`: JSON, no login, nothing revealed; readiness tells
the truth about the database, the migrations and the workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import Account, Partner
from core import health, heartbeat
from core.models import WorkerHeartbeat
from installs.models import Install, PendingRevocation
from tests.installs.conftest import make_install, sandbox_oauth2_connector

URL = "/healthz/live"


def test_answers_ok_without_login_or_query(client):
    """An anonymous GET gets 200 and {"status": "ok"}; database access is blocked here."""
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_is_never_cached_and_sets_no_cookie(client):
    """Probes always reach the process; the answer starts no session."""
    response = client.get(URL)
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_head_works_and_unsafe_methods_are_refused(client):
    """HEAD is answered like GET; POST is 405."""
    assert client.head(URL).status_code == 200
    assert client.post(URL).status_code == 405


@pytest.mark.django_db
def test_works_behind_the_https_redirect(client, settings):
    """With SECURE_SSL_REDIRECT on, a plain-http probe still gets 200, not a redirect."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(URL).status_code == 200
    assert client.get("/login/").status_code == 301


# --- /healthz/ready ----------------------------------------------------------------------

READY = "/healthz/ready"


@pytest.fixture
def uncached(settings):
    settings.READY_CACHE_SECONDS = 0


def due_install() -> Install:
    partner = Partner.objects.create(name="Due Inc", slug="due-inc")
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-due")
    return make_install(account, sandbox_oauth2_connector())


def ready(client) -> tuple[int, dict]:
    response = client.get(READY)
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response.status_code, response.json()


@pytest.mark.django_db
def test_ready_when_nothing_is_due_and_no_worker_ever_ran(client, uncached):
    """Database up, migrations applied, no work waiting: 200 without any heartbeat."""
    assert ready(client) == (200, {"status": "ok", "checks": {
        "database": "ok", "migrations": "ok", "worker": "ok"}})


@pytest.mark.django_db
def test_due_work_without_any_heartbeat_is_not_ready(client, uncached):
    """A due refresh and no worker ever seen: 503, naming only the worker check."""
    due_install()
    status, body = ready(client)
    assert status == 503
    assert body == {"status": "unavailable", "checks": {
        "database": "ok", "migrations": "ok", "worker": "not seen while work is due"}}


@pytest.mark.django_db
def test_a_stale_heartbeat_is_not_ready_a_fresh_one_is(client, uncached):
    """A worker last seen 6 minutes ago does not count; one seen just now does."""
    due_install()
    WorkerHeartbeat.objects.create(name="refresh_tokens@old:1",
                                   seen_at=timezone.now() - timedelta(minutes=6))
    assert ready(client)[0] == 503
    heartbeat.beat("refresh_tokens@new:2")
    assert ready(client) == (200, {"status": "ok", "checks": {
        "database": "ok", "migrations": "ok", "worker": "ok"}})


@pytest.mark.django_db
def test_a_due_pending_revocation_needs_a_worker_too(client, uncached):
    """A revocation waiting for its retry is work: no heartbeat → 503."""
    install = due_install()
    Install.objects.filter(pk=install.pk).update(status=Install.Status.DEAUTHENTICATED)
    PendingRevocation.objects.create(
        partner=install.account.partner, connector=install.connector, install=install,
        credentials={"refresh_token": "fake-refresh"}, values={},
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert ready(client)[1]["checks"]["worker"] == "not seen while work is due"


@pytest.mark.django_db
def test_a_database_that_is_down_is_not_ready_and_not_described(client, uncached, monkeypatch):
    """Every query fails: 503, each check "unavailable", no error text or address shown."""

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "10.9.8.7", port 5432 failed')

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get(READY)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {
        "database": "unavailable", "migrations": "unavailable", "worker": "unavailable"}}
    assert b"10.9.8.7" not in response.content and b"5432" not in response.content


@pytest.mark.django_db
def test_unapplied_migrations_are_not_ready(client, uncached, monkeypatch):
    """A migration in the code that the database lacks: 503 "not applied", no name shown."""
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [
        ("installs.9999_future", False)])
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["migrations"] == "not applied"
    assert "9999" not in str(body)


@pytest.mark.django_db
def test_the_answer_is_kept_for_a_few_seconds(client, settings, django_assert_num_queries):
    """Polled again within READY_CACHE_SECONDS, the answer costs no query."""
    settings.READY_CACHE_SECONDS = 5
    cache.delete(health.CACHE_KEY)
    assert ready(client)[0] == 200
    with django_assert_num_queries(0):
        assert ready(client)[0] == 200
    cache.delete(health.CACHE_KEY)


@pytest.mark.django_db
def test_ready_needs_no_login_sets_no_cookie_and_refuses_post(client, uncached):
    """Anonymous GET and HEAD are answered; POST is 405; no session is started."""
    response = client.get(READY)
    assert response.status_code == 200 and not response.cookies
    assert client.head(READY).status_code == 200
    assert client.post(READY).status_code == 405
