"""The /metrics gauges: as many queries at any size, and reused for METRICS_GAUGES_TTL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.metrics import forget_gauges
from installs.models import Install
from tests.installs.conftest import make_install

pytestmark = pytest.mark.django_db


def scrape(client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return response.content.decode(), len(captured.captured_queries)


def authenticated(text: str) -> str:
    return next(line for line in text.splitlines()
                if line.startswith('hatchway_installs{status="authenticated"}'))


def test_a_scrape_runs_as_many_queries_at_30_installs_as_at_3(client, account, connector,
                                                              settings):
    settings.METRICS_GAUGES_TTL = 0  # counted at every scrape: the worst case
    for n in range(3):
        make_install(account, connector, n=n)
    text, small = scrape(client)
    assert authenticated(text).endswith(" 3.0")
    for n in range(3, 30):
        make_install(account, connector, n=n)
    text, large = scrape(client)
    assert authenticated(text).endswith(" 30.0")
    assert large == small


def test_gauges_are_reused_within_the_ttl_then_counted_again(client, account, connector,
                                                             settings):
    settings.METRICS_GAUGES_TTL = 15
    make_install(account, connector, n=1)
    text, counted = scrape(client)
    assert authenticated(text).endswith(" 1.0") and counted > 0
    make_install(account, connector, n=2)
    text, reused = scrape(client)
    assert authenticated(text).endswith(" 1.0")  # at most METRICS_GAUGES_TTL seconds old
    assert reused == 0
    forget_gauges()  # as the TTL running out does
    text, _ = scrape(client)
    assert authenticated(text).endswith(" 2.0")


def test_a_ttl_of_0_counts_at_every_scrape(client, account, connector, settings):
    settings.METRICS_GAUGES_TTL = 0
    make_install(account, connector, n=1)
    scrape(client)
    Install.objects.update(status=Install.Status.REFRESH_FAILING)
    text, _ = scrape(client)
    assert authenticated(text).endswith(" 0.0")
    assert 'hatchway_installs{status="refresh_failing"} 1.0' in text
