"""Selection, outcomes, back-off and status logic of installs.refresh (any database)."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from connectors.auth.base import AuthError, InvalidGrant, TransientError
from core import backoff
from core.fields import Unreadable
from installs import models, refresh
from installs.models import Install
from tests.installs.conftest import foreign_ciphertext, make_install, worker_pass

pytestmark = pytest.mark.django_db


def due_ids() -> set[int]:
    return set(Install.objects.filter(models.due_filter()).values_list("pk", flat=True))


def test_due_filter_selects_expiring_refreshable_installs(account, connector):
    """Due: authenticated/failing, expiring within the margin, not backing off."""
    now = timezone.now()
    due = make_install(account, connector, expires_in=60, n=1)
    failing_ready = make_install(account, connector, n=2, status=Install.Status.REFRESH_FAILING,
                                 next_refresh_at=now - timedelta(seconds=1))
    make_install(account, connector, expires_in=3600, n=3)  # far from expiry
    make_install(account, connector, n=4, status=Install.Status.REAUTH_REQUIRED)
    make_install(account, connector, n=5, status=Install.Status.PENDING)
    make_install(account, connector, n=6, status=Install.Status.REFRESH_FAILING,
                 next_refresh_at=now + timedelta(minutes=5))  # backing off
    make_install(account, connector, n=7, expires_at=None)  # token never expires
    assert due_ids() == {due.pk, failing_ready.pk}


def test_margin_comes_from_settings(settings, install):
    """TOKEN_REFRESH_MARGIN decides how early a token is due."""
    settings.TOKEN_REFRESH_MARGIN = 30
    assert due_ids() == set()
    settings.TOKEN_REFRESH_MARGIN = 120
    assert due_ids() == {install.pk}


def test_refresh_saves_new_tokens_status_and_audit(install, fake_method):
    """A successful refresh stores the new tokens, resets failures and writes an audit event."""
    Install.objects.filter(pk=install.pk).update(status=Install.Status.REFRESH_FAILING,
                                                 refresh_failures=3, last_error="old problem")
    assert worker_pass() == refresh.REFRESHED
    install.refresh_from_db()
    assert fake_method.calls == [{"access_token": "fake-access-1",
                                  "refresh_token": "fake-refresh-1", "token_type": "Bearer"}]
    assert install.credentials["access_token"] == "fake-new-access-1"
    assert install.credentials["refresh_token"] == "fake-new-refresh-1"
    assert install.status == Install.Status.AUTHENTICATED
    assert install.refresh_failures == 0 and install.last_error == ""
    assert install.next_refresh_at is None and install.last_refreshed_at is not None
    assert install.expires_at > timezone.now() + timedelta(minutes=55)
    event = AuditEvent.objects.get(action="install.refreshed")
    assert (event.install, event.account, event.partner) == (install, install.account,
                                                             install.account.partner)
    assert event.detail == {"status": "authenticated", "previous_status": "refresh_failing"}


def test_response_without_refresh_token_keeps_the_old_one(install, fake_method):
    """RFC 6749 §6: no refresh_token in the response → the stored one stays."""
    fake_method.script = [{"access_token": "fake-new-access", "token_type": "Bearer"}]
    assert worker_pass() == refresh.REFRESHED
    install.refresh_from_db()
    assert install.credentials == {"access_token": "fake-new-access",
                                   "refresh_token": "fake-refresh-1", "token_type": "Bearer"}


def test_not_due_install_is_left_alone(account, connector, fake_method):
    """An install far from expiry is not refreshed: a pass finds nothing to do."""
    make_install(account, connector, expires_in=3600)
    assert refresh.run_pass() == {}
    assert worker_pass() == refresh.NOT_DUE
    assert fake_method.calls == []


def test_invalid_grant_requires_reauthentication(install, fake_method, caplog):
    """invalid_grant → Reauthentication required, tokens kept, audit + security log."""
    fake_method.script = [InvalidGrant("The provider rejected the authorisation (invalid_grant).")]
    with caplog.at_level(logging.INFO, logger="hatchway.security"):
        assert worker_pass() == refresh.REAUTH_REQUIRED
    install.refresh_from_db()
    assert install.status == Install.Status.REAUTH_REQUIRED
    assert install.get_status_display() == "Reauthentication required"
    assert install.credentials["refresh_token"] == "fake-refresh-1"  # kept for the record
    assert "invalid_grant" in install.last_error
    event = AuditEvent.objects.get(action="install.refresh_failed")
    assert event.detail == {"kind": "invalid_grant", "status": "reauth_required",
                            "previous_status": "authenticated"}
    assert any(r.name == "hatchway.security" and "invalid_grant" in r.getMessage()
               for r in caplog.records)
    assert worker_pass() == refresh.NOT_DUE  # no longer retried


def test_invalid_grant_after_another_worker_won_is_fine(install, fake_method):
    """If the stored token changed while we called the provider, the rejection is ignored."""

    def another_worker_saves(credentials):
        row = Install.objects.get(pk=install.pk)
        row.credentials = {"access_token": "fake-winner", "refresh_token": "fake-winner-r"}
        row.save()

    fake_method.side_effect = another_worker_saves
    fake_method.script = [InvalidGrant("rejected")]
    assert worker_pass() == refresh.NOT_DUE
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials["refresh_token"] == "fake-winner-r"
    assert not AuditEvent.objects.filter(action="install.refresh_failed").exists()


def test_transient_failure_keeps_tokens_and_backs_off(install, fake_method):
    """5xx/timeout → Refresh failing, tokens intact, next attempt after a jittered back-off."""
    fake_method.script = [TransientError("The token endpoint is unavailable (HTTP 503).")]
    before = timezone.now()
    assert worker_pass() == refresh.FAILING
    install.refresh_from_db()
    assert install.status == Install.Status.REFRESH_FAILING
    assert install.get_status_display() == "Refresh failing"
    assert install.credentials == {"access_token": "fake-access-1",
                                   "refresh_token": "fake-refresh-1", "token_type": "Bearer"}
    assert install.refresh_failures == 1
    assert "HTTP 503" in install.last_error
    wait = (install.next_refresh_at - before).total_seconds()
    assert 15 <= wait <= 31
    event = AuditEvent.objects.get(action="install.refresh_failed")
    assert event.detail["kind"] == "unavailable" and event.detail["failures"] == 1
    # Backing off: a pass now does not call the provider again.
    assert worker_pass() == refresh.NOT_DUE
    assert len(fake_method.calls) == 1


def test_failing_install_recovers_on_a_later_pass(install, fake_method):
    """After the back-off the next pass refreshes it and the status returns to Authenticated."""
    fake_method.script = [TransientError("timeout"), TransientError("timeout")]
    worker_pass()
    later = timezone.now() + timedelta(minutes=2)
    assert worker_pass(now=later) == refresh.FAILING
    install.refresh_from_db()
    assert install.refresh_failures == 2
    assert 30 <= (install.next_refresh_at - later).total_seconds() <= 61
    counts = refresh.run_pass(now=later + timedelta(minutes=2))
    assert counts == {refresh.REFRESHED: 1}
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert install.refresh_failures == 0 and install.last_error == ""


def test_retry_after_is_honoured(install, fake_method):
    """A 429 with Retry-After: 900 waits at least 900 seconds."""
    fake_method.script = [TransientError("rate limited", retry_after=900)]
    before = timezone.now()
    worker_pass()
    install.refresh_from_db()
    assert (install.next_refresh_at - before).total_seconds() >= 900


@pytest.mark.parametrize("failures, low, high", [(1, 15, 30), (2, 30, 60), (3, 60, 120),
                                                  (8, 1800, 3600), (30, 1800, 3600)])
def test_backoff_grows_exponentially_with_jitter_and_a_cap(failures, low, high):
    """Back-off: half to all of 30 s·2^(n-1), capped at an hour."""
    delays = [backoff.backoff_seconds(failures, rng=random.Random(seed)) for seed in range(50)]
    assert all(low <= d <= high for d in delays)
    assert len({round(d, 3) for d in delays}) > 40  # jittered, not one fixed value


def test_backoff_retry_after_bounds():
    """Retry-After raises the delay but not beyond six hours."""
    assert backoff.backoff_seconds(1, retry_after=120) >= 120
    assert backoff.backoff_seconds(1, retry_after=10**9) == backoff.RETRY_AFTER_CAP


def test_unreadable_credentials_require_reentry(install, fake_method):
    """Credentials no key decrypts → reauth required with a clear message, ciphertext unchanged."""
    foreign = foreign_ciphertext({"refresh_token": "fake-refresh-1"})
    Install.objects.filter(pk=install.pk).update(credentials=Unreadable(foreign))
    assert worker_pass() == refresh.REAUTH_REQUIRED
    install.refresh_from_db()
    assert isinstance(install.credentials, Unreadable)
    assert install.credentials.ciphertext == foreign
    assert install.status == Install.Status.REAUTH_REQUIRED
    assert install.last_error == ("Stored credentials could not be decrypted — "
                                  "re-enter credentials")
    assert fake_method.calls == []
    assert AuditEvent.objects.get(action="install.refresh_failed").detail["kind"] == (
        "credentials_unreadable")


def test_unexpected_error_is_retried_later(install, fake_method):
    """A bug in a method becomes a back-off, not a crash or a lost token."""
    fake_method.script = [RuntimeError("boom fake-refresh-1")]
    assert worker_pass() == refresh.FAILING
    install.refresh_from_db()
    assert install.status == Install.Status.REFRESH_FAILING
    assert install.credentials["refresh_token"] == "fake-refresh-1"
    assert install.last_error == refresh.UNEXPECTED_MESSAGE


def test_configuration_error_requires_reauthentication(install, fake_method):
    """A permanent AuthError (e.g. missing settings) → Reauthentication required with its text."""
    fake_method.script = [AuthError("Enter the Client Secret in Authentication Settings.",
                                    kind="configuration")]
    assert worker_pass() == refresh.REAUTH_REQUIRED
    install.refresh_from_db()
    assert install.last_error == "Enter the Client Secret in Authentication Settings."


def test_method_that_cannot_refresh_waits_for_expiry_then_asks(install, fake_method):
    """No refresh possible: look again at expiry; once expired, Reauthentication required."""
    fake_method.refreshes = False
    assert worker_pass() == refresh.NOT_DUE
    install.refresh_from_db()
    assert install.next_refresh_at == install.expires_at
    assert refresh.run_pass() == {}
    later = install.expires_at + timedelta(seconds=1)
    assert worker_pass(now=later) == refresh.REAUTH_REQUIRED
    assert fake_method.calls == []


def test_pass_refreshes_each_due_install_once(account, connector, fake_method):
    """A pass handles every due install exactly once, even if the new token is short-lived."""
    installs = [make_install(account, connector, n=n) for n in range(5)]
    make_install(account, connector, expires_in=7200, n=99)
    fake_method.lifetime = timedelta(seconds=30)  # still within the margin after refresh
    assert refresh.run_pass() == {refresh.REFRESHED: 5}
    assert len(fake_method.calls) == 5
    assert {c["refresh_token"] for c in fake_method.calls} == {
        f"fake-refresh-{n}" for n in range(5)}
    assert set(Install.objects.filter(last_refreshed_at__isnull=False)
               .values_list("pk", flat=True)) == {i.pk for i in installs}


def test_a_pass_never_reads_the_partner_and_runs_the_same_queries_per_install(
        account, connector, fake_method):
    """Claims leave the partner row out (the events name it by id), and every install
    costs the same queries whatever the pass's size: the pass is linear."""
    def queries_of_a_pass(installs: int) -> list[str]:
        for n in range(installs):
            make_install(account, connector, n=n)
        with CaptureQueriesContext(connection) as queries:
            assert refresh.run_pass() == {refresh.REFRESHED: installs}
        Install.objects.all().delete()
        return [q["sql"] for q in queries.captured_queries]

    passes = [queries_of_a_pass(n) for n in (1, 2, 3)]
    per_install = len(passes[1]) - len(passes[0])
    assert len(passes[2]) - len(passes[1]) == per_install <= 8
    assert not [q for each in passes for q in each if '"accounts_partner"' in q]
    events = AuditEvent.objects.filter(action="install.refreshed")
    assert events.count() == 6 and set(events.values_list("partner_id", flat=True)) == {
        account.partner_id}


def test_pass_most_urgent_first_and_batch_size(account, connector, fake_method):
    """`batch_size` bounds a pass; the soonest-expiring install goes first."""
    late = make_install(account, connector, expires_in=300, n=1)
    urgent = make_install(account, connector, expires_in=-60, n=2)
    assert refresh.run_pass(batch_size=1) == {refresh.REFRESHED: 1}
    assert fake_method.calls[0]["refresh_token"] == "fake-refresh-2"
    urgent.refresh_from_db()
    late.refresh_from_db()
    assert urgent.last_refreshed_at and not late.last_refreshed_at


def test_pass_stops_between_installs_when_asked(account, connector, fake_method):
    """should_stop is honoured after the install in hand."""
    for n in range(3):
        make_install(account, connector, n=n)
    asked = iter([False, True])
    assert refresh.run_pass(should_stop=lambda: next(asked)) == {refresh.REFRESHED: 1}


def test_ensure_fresh_refreshes_expiring_install(install, fake_method):
    """ensure_fresh returns the refreshed row when the token is expiring."""
    fresh = refresh.ensure_fresh(install)
    assert fresh.credentials["access_token"] == "fake-new-access-1"
    assert Install.objects.get(pk=install.pk).credentials["access_token"] == "fake-new-access-1"


def test_ensure_fresh_leaves_valid_or_blocked_installs(account, connector, fake_method):
    """Valid, backing-off or reauth-required installs are returned unchanged, no call made."""
    valid = make_install(account, connector, expires_in=3600, n=1)
    reauth = make_install(account, connector, n=2, status=Install.Status.REAUTH_REQUIRED)
    backing_off = make_install(account, connector, n=3, status=Install.Status.REFRESH_FAILING,
                               next_refresh_at=timezone.now() + timedelta(minutes=1))
    for install in (valid, reauth, backing_off):
        assert refresh.ensure_fresh(install) is install
    assert fake_method.calls == []


def test_ensure_fresh_reports_failure_through_status(install, fake_method):
    """A failed on-demand refresh returns the row with its new status, it does not raise."""
    fake_method.script = [InvalidGrant("rejected")]
    assert refresh.ensure_fresh(install).status == Install.Status.REAUTH_REQUIRED


def test_the_refresh_queue_index_covers_the_refreshable_statuses():
    """The partial index the claims walk holds exactly the statuses workers refresh."""
    index = next(i for i in Install._meta.indexes if i.name == "install_refresh_queue")
    assert index.condition.children == [("status__in", list(Install.REFRESHABLE))]
    assert index.fields == ["expires_at", "id"]
