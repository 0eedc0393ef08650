"""`/metrics`: a token or an allowed address, nothing else; requests and queries counted."""

from __future__ import annotations

import pytest

from core import metrics

URL = "/metrics"
TOKEN = "fake-metrics-token-0123456789"

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "::1"]


def test_refused_without_credentials_from_another_address(client, token):
    """No token, not an allowed address: 401 with a Bearer challenge, no metric in sight."""
    response = client.get(URL, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"hatchway_" not in response.content


def test_a_wrong_token_is_forbidden_even_from_loopback(client, token):
    """A presented token must be right: 403, wherever it comes from."""
    for address in ("203.0.113.9", "127.0.0.1"):
        response = client.get(URL, REMOTE_ADDR=address,
                              HTTP_AUTHORIZATION="Bearer fake-wrong-token")
        assert response.status_code == 403


def test_the_token_opens_it_from_anywhere(client, token):
    """The right Bearer token: 200 in Prometheus's text format."""
    response = client.get(URL, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]


def test_no_token_configured_means_no_token_works(client, settings):
    """METRICS_TOKEN empty: even an empty Bearer is refused."""
    settings.METRICS_TOKEN = ""
    assert client.get(URL, REMOTE_ADDR="203.0.113.9",
                      HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_an_allowed_network_needs_no_token(client, settings):
    """METRICS_ALLOWED_IPS takes networks too: a scraper on 10.1.2.3 in 10.1.0.0/16."""
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16"]
    assert client.get(URL, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get(URL, REMOTE_ADDR="10.2.0.1").status_code == 401


def test_a_request_relayed_by_a_proxy_never_passes_on_its_address(client, token):
    """Behind a reverse proxy everything comes from loopback: forwarded requests need the
    token."""
    response = client.get(URL, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 401
    assert client.get(URL, REMOTE_ADDR="127.0.0.1",
                      HTTP_FORWARDED="for=198.51.100.7").status_code == 401


def test_requests_and_queries_are_counted_by_django_prometheus(client, token):
    """A page request and its queries appear in the scrape (middleware and db backend)."""
    client.get("/login/")
    text = client.get(URL, REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'django_http_responses_total_by_status_total{status="200"}' in text
    assert 'django_db_execute_total{alias="default",vendor=' in text


def test_the_hooks_for_the_api_and_webhooks_count(client, token):
    """observe_api_request / observe_webhook_delivery: the series appear with their labels."""
    metrics.observe_api_request("api:install-detail", 200)
    metrics.observe_webhook_delivery("delivered")
    metrics.observe_first_revocation("revoked")
    text = client.get(URL, REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'hatchway_api_requests_total{endpoint="api:install-detail",status="200"}' in text
    assert 'hatchway_webhook_deliveries_total{outcome="delivered"}' in text
    assert 'hatchway_revocations_total{outcome="revoked",stage="first"}' in text
