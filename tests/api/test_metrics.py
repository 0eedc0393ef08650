"""The partner API's answers on /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.api.helpers import bearer, call, make_key


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0


def test_api_answers_are_counted_by_url_name_and_status(partner):
    """A 200 and a 401 of the partner API each move their own counter."""
    ok = {"endpoint": "accounts", "status": "200"}
    refused = {"endpoint": "accounts", "status": "401"}
    before = sample("hatchway_api_requests_total", ok), sample("hatchway_api_requests_total",
                                                               refused)
    assert call(bearer(make_key(partner, "manage")[1]), "get", "/api/v1/accounts")[0] == 200
    assert call(bearer("hw_fake-wrong-key"), "get", "/api/v1/accounts")[0] == 401
    assert sample("hatchway_api_requests_total", ok) == before[0] + 1
    assert sample("hatchway_api_requests_total", refused) == before[1] + 1
