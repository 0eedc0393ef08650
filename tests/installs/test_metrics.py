"""`/metrics` counts real refreshes and revocations, and reports installs as scraped gauges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import Account
from connectors.auth.base import InvalidGrant, TransientError
from installs import refresh, revocation
from installs.models import Install, PendingRevocation
from installs.removal import deauthenticate
from tests.factories import catalogue_connector
from tests.installs.conftest import make_install

pytestmark = pytest.mark.django_db


def refreshes(outcome: str) -> float:
    return REGISTRY.get_sample_value("hatchway_token_refreshes_total", {"outcome": outcome}) or 0


def scrape(client) -> str:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return response.content.decode()


def test_a_successful_refresh_moves_the_refreshed_counter(install, fake_method, client):
    """One refresh: refreshed +1, failing unchanged, and the scrape shows the new count."""
    before, failing = refreshes("refreshed"), refreshes("failing")
    assert refresh.run_pass() == {refresh.REFRESHED: 1}
    assert refreshes("refreshed") == before + 1
    assert refreshes("failing") == failing
    assert f'hatchway_token_refreshes_total{{outcome="refreshed"}} {before + 1}' in scrape(client)


def test_failed_refreshes_move_the_failing_and_reauth_counters(account, connector, fake_method):
    """A provider outage counts as failing, a rejected token as reauth_required; never refreshed."""
    outage, rejected = make_install(account, connector, n=1), make_install(account, connector, n=2)
    counts = {o: refreshes(o) for o in ("refreshed", "failing", "reauth_required")}
    fake_method.script = [TransientError("The token endpoint is unavailable (HTTP 503).")]
    assert refresh.run_pass(batch_size=1) == {refresh.FAILING: 1}
    fake_method.script = [InvalidGrant("The provider rejected the refresh token.")]
    assert refresh.run_pass(batch_size=1) == {refresh.REAUTH_REQUIRED: 1}
    assert Install.objects.get(pk=outage.pk).status == Install.Status.REFRESH_FAILING
    assert Install.objects.get(pk=rejected.pk).status == Install.Status.REAUTH_REQUIRED
    assert refreshes("failing") == counts["failing"] + 1
    assert refreshes("reauth_required") == counts["reauth_required"] + 1
    assert refreshes("refreshed") == counts["refreshed"]


def test_a_retried_revocation_moves_the_revocation_counter(install):
    """A pending revocation whose connector has no revocation endpoint is refused: counted."""
    install.connector.spec_data = {**install.connector.spec_data,
                                   "auth": {**install.connector.spec_data["auth"],
                                            "revoke_url": ""}}
    install.connector.save()
    PendingRevocation.objects.create(
        partner=install.account.partner, connector=install.connector, install=install,
        credentials={"refresh_token": "fake-refresh"}, values={},
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    labels = {"stage": "retry", "outcome": "refused"}
    before = REGISTRY.get_sample_value("hatchway_revocations_total", labels) or 0
    assert revocation.retry_revocations() == {revocation.REFUSED: 1}
    assert REGISTRY.get_sample_value("hatchway_revocations_total", labels) == before + 1


def test_installs_by_status_and_due_work_are_scraped_gauges(account, connector, client):
    """Gauges come from the database at scrape time: statuses, due installs, revocations."""
    make_install(account, connector, n=1)  # due within the margin
    make_install(account, connector, n=2, expires_in=86400)
    make_install(account, connector, n=3, status=Install.Status.REAUTH_REQUIRED)
    text = scrape(client)
    assert 'hatchway_installs{status="authenticated"} 2.0' in text
    assert 'hatchway_installs{status="reauth_required"} 1.0' in text
    assert 'hatchway_installs{status="pending"} 0.0' in text
    assert "hatchway_installs_due 1.0" in text
    assert 'hatchway_pending_revocations{state="due"} 0.0' in text


def test_a_scrape_costs_five_queries_whatever_the_number_of_installs(
        account, connector, client, django_assert_num_queries):
    """Installs: one GROUP BY, one COUNT, one aggregate; webhook deliveries: one aggregate;
    the relay's backlog: one COUNT. Bounded, nothing decrypted."""
    for n in range(5):
        make_install(account, connector, n=n)
    with django_assert_num_queries(5):
        scrape(client)


def test_the_revocation_at_deauthentication_is_counted(partner):
    """Deauthenticating an API-key install (no revocation offered) counts not_supported."""
    labels = {"stage": "first", "outcome": "not_supported"}
    before = (REGISTRY.get_sample_value("hatchway_revocations_total", labels) or 0)
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-r")
    install = Install.objects.create(account=account, connector=catalogue_connector(
        "sandbox-api-key"), status=Install.Status.AUTHENTICATED,
        credentials={"api_key": "fake-key-metrics"})
    assert deauthenticate(install=install, actor=None) == "not_supported"
    assert (REGISTRY.get_sample_value("hatchway_revocations_total", labels) or 0) == before + 1
