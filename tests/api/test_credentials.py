"""GET /api/v1/installs/{id}/credentials: fresh first, the shape per auth type, no-store,
409 when not authenticated, every read audited (counted per key, install and minute)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from audit import events as audit_events
from audit.models import AuditEvent
from installs.models import Install
from sandbox import services as sandbox
from sandbox.seeding import sandbox_accepts, seed_due_installs
from tests.api.helpers import bearer, call, make_key
from tests.factories import catalogue_connector
from tests.installs.test_refresh_concurrency import in_thread


def path(install: Install, query: str = "") -> str:
    return f"/api/v1/installs/{install.pk}/credentials{query}"


@pytest.fixture
def oauth2(partner, sandbox_transport) -> Install:
    """An authenticated sandbox OAuth 2.0 install whose token is not due."""
    return seed_due_installs(partner, 1, expires_in=3600).installs[0]


def test_oauth2_shape_without_refresh_token(api, oauth2):
    """access_token, token_type and scope -- never the refresh token; no-store."""
    response = api.get(path(oauth2))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["type"] == "oauth2"
    assert body["credentials"] == {k: oauth2.credentials[k]
                                   for k in ("access_token", "token_type", "scope")}
    assert body["expires_at"] and body["base_url"] == "http://testserver/sandbox/api"


def test_not_due_is_not_refreshed_but_forcing_is(api, oauth2):
    """A token not due is handed out as it is; ?force_refresh=true renews it."""
    before = sandbox.refresh_count()
    assert call(api, "get", path(oauth2))[1]["credentials"]["access_token"] == \
        oauth2.credentials["access_token"]
    assert sandbox.refresh_count() == before
    fresh = call(api, "get", path(oauth2, "?force_refresh=true"))[1]["credentials"]
    assert sandbox.refresh_count() == before + 1
    assert fresh["access_token"] != oauth2.credentials["access_token"]
    assert sandbox_accepts(Install.objects.get(pk=oauth2.pk).credentials)


def test_due_token_is_refreshed_first(api, oauth2):
    """A token expiring within the margin is refreshed before it is handed out."""
    Install.objects.filter(pk=oauth2.pk).update(expires_at=timezone.now() + timedelta(seconds=30))
    before = sandbox.refresh_count()
    body = call(api, "get", path(oauth2))[1]
    assert sandbox.refresh_count() == before + 1
    assert body["credentials"]["access_token"] == Install.objects.get(
        pk=oauth2.pk).credentials["access_token"]


@pytest.mark.parametrize("status", [Install.Status.PENDING, Install.Status.REAUTH_REQUIRED,
                                    Install.Status.ERROR, Install.Status.DEAUTHENTICATED])
def test_not_authenticated_is_409_with_its_status(api, oauth2, status):
    """No working credentials: 409 carrying the install's status, nothing handed out."""
    Install.objects.filter(pk=oauth2.pk).update(status=status)
    code, problem = call(api, "get", path(oauth2))
    assert code == 409 and problem["install_status"] == status
    assert oauth2.credentials["access_token"] not in str(problem)


@pytest.mark.parametrize(("slug", "stored", "shared"), [
    ("sandbox-api-key", {"api_key": "fake-key-sec-1"}, {"api_key": "fake-key-sec-1"}),
    ("sandbox-basic", {"username": "sandy", "password": "fake-pass-sec-1"},
     {"username": "sandy", "password": "fake-pass-sec-1"}),
    ("sandbox-oauth1", {"oauth_token": "fake-tok", "oauth_token_secret": "fake-sec-1"},
     {"oauth_token": "fake-tok", "oauth_token_secret": "fake-sec-1"}),
])
def test_shape_per_auth_type(api, partner, slug, stored, shared):
    """API key, basic and OAuth 1.0a hand out exactly their keys."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account, connector=catalogue_connector(slug),
                                     status=Install.Status.AUTHENTICATED, credentials=stored,
                                     authenticated_at=timezone.now())
    body = call(api, "get", path(install))[1]
    assert body["credentials"] == shared and body["expires_at"] is None


def test_reads_are_audited_counted_per_key_and_minute(api, partner, oauth2):
    """Three reads by one key: one event counting 3; another key: its own; a minute later:
    a new event. Never the value."""
    for _ in range(3):
        api.get(path(oauth2))
    bearer(make_key(partner, "credentials", name="Reporting")[1]).get(path(oauth2))
    events = AuditEvent.objects.filter(action="install.credentials_read").order_by("id")
    assert [(e.actor_label, e.detail["count"]) for e in events] == [
        ("API key Backend", 3), ("API key Reporting", 1)]
    assert events[0].install_id == oauth2.pk
    assert oauth2.credentials["access_token"] not in str(list(events.values("detail")))
    events.update(created_at=timezone.now() - timedelta(minutes=2))
    api.get(path(oauth2))
    assert AuditEvent.objects.filter(action="install.credentials_read").count() == 3


def test_the_remembered_event_is_checked_in_the_database(api, partner, oauth2):
    """The event this process counted into last is only a hint: deleted (pruned), it is
    not counted into but a new one is written; another process's newer event (this one's
    memory lost) is found and counted into, not duplicated."""
    reads = AuditEvent.objects.filter(action="install.credentials_read")
    api.get(path(oauth2))
    reads.delete()
    api.get(path(oauth2))
    assert list(reads.values_list("detail__count", flat=True)) == [1]
    audit_events._counting.clear()  # as in another process, which never counted here
    api.get(path(oauth2))
    assert list(reads.values_list("detail__count", flat=True)) == [2]


def test_a_remembered_event_of_another_install_is_never_counted_into(api, partner, oauth2):
    """A stale hint naming another install's event (ids the test database reuses) does
    not move that event's count."""
    api.get(path(oauth2))
    other = seed_due_installs(partner, 1, expires_in=3600).installs[0]
    api.get(path(other))
    slot = next(s for s in audit_events._counting if s[1] == other.pk)
    mine = next(pk for s, pk in audit_events._counting.items() if s[1] == oauth2.pk)
    audit_events._counting[slot] = mine
    api.get(path(other))
    counts = dict(AuditEvent.objects.filter(action="install.credentials_read")
                  .values_list("install_id", "detail__count"))
    assert counts == {oauth2.pk: 1, other.pk: 2}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_concurrent_reads_are_all_counted(transactional_db, partner, oauth2, key_token):
    """Four threads reading at once, ten reads each: one key's events count all 40."""
    def read_ten() -> list[int]:
        client = bearer(key_token[1])
        return [client.get(path(oauth2)).status_code for _ in range(10)]

    threads = [in_thread(read_ten) for _ in range(4)]
    for thread, _ in threads:
        thread.join(30)
    assert [r[0] for _, r in threads] == [[200] * 10] * 4
    counts = AuditEvent.objects.filter(action="install.credentials_read").values_list(
        "detail__count", flat=True)
    assert sum(counts) == 40


def test_a_read_is_three_queries(api, oauth2, django_assert_num_queries):
    """No refresh due: the key, the install with its partner's settings, the audit count."""
    api.get(path(oauth2))  # the key's last use and the minute's first event are written
    with django_assert_num_queries(3):
        assert api.get(path(oauth2)).status_code == 200


def test_bad_force_refresh_is_400(api, oauth2):
    """force_refresh must be a boolean."""
    assert call(api, "get", path(oauth2, "?force_refresh=maybe"))[0] == 400
