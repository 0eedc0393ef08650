"""GET /api/v1/connectors and /connectors/{slug}: filters, fields, never a value."""

from __future__ import annotations

import pytest

from tests.api.helpers import call
from tests.factories import catalogue_connector, make_connector, oauth2_data, save_settings

SECRET = "fake-client-secret-sec-555"


@pytest.fixture
def connectors(partner):
    oauth2 = catalogue_connector("sandbox-oauth2")
    save_settings(partner, oauth2, {"client_id": "fake-client-id"}, {"client_secret": SECRET})
    catalogue_connector("sandbox-api-key")
    catalogue_connector("sandbox-basic")
    return oauth2


def slugs(page) -> list[str]:
    return [c["slug"] for c in page["results"]]


def test_filters(api, connectors):
    """q, auth_type and configured filter the library; results by slug."""
    assert slugs(call(api, "get", "/api/v1/connectors")[1]) == [
        "sandbox-api-key", "sandbox-basic", "sandbox-oauth2"]
    assert slugs(call(api, "get", "/api/v1/connectors?q=api+key")[1]) == ["sandbox-api-key"]
    assert slugs(call(api, "get", "/api/v1/connectors?auth_type=basic")[1]) == ["sandbox-basic"]
    # Configured: settings saved, or none to save (API key and basic ask only the account).
    assert slugs(call(api, "get", "/api/v1/connectors?configured=true")[1]) == [
        "sandbox-api-key", "sandbox-basic", "sandbox-oauth2"]
    assert "sandbox-oauth2" not in slugs(call(api, "get",
                                              "/api/v1/connectors?configured=false")[1])


def test_bad_filter_is_400(api, connectors):
    """An unknown auth type: 400 naming the field."""
    code, problem = call(api, "get", "/api/v1/connectors?auth_type=telepathy")
    assert code == 400 and "auth_type" in problem["errors"]


def test_detail_has_fields_and_never_a_value(api, connectors):
    """The auth type, the fields and whether the settings are saved; no value."""
    code, body = call(api, "get", "/api/v1/connectors/sandbox-oauth2")
    assert code == 200 and body["auth_type"] == "oauth2" and body["configured"] is True
    assert body["fields"][1] == {"key": "client_secret", "label": "Client Secret",
                                 "level": "partner", "secret": True, "required": True}
    assert SECRET not in str(body) and "fake-client-id" not in str(body)


def test_unknown_slug_is_404(api, connectors):
    """An unknown connector: 404 problem."""
    assert call(api, "get", "/api/v1/connectors/nope")[0] == 404


def test_pages_follow_the_cursor(api, connectors):
    """`limit` and `next` walk every connector once."""
    code, page = call(api, "get", "/api/v1/connectors?limit=2")
    assert len(page["results"]) == 2 and page["next"]
    code, rest = call(api, "get", page["next"])
    assert slugs(page) + slugs(rest) == ["sandbox-api-key", "sandbox-basic", "sandbox-oauth2"]
    assert rest["next"] is None


def test_constant_queries(api, connectors, django_assert_max_num_queries):
    """The list costs the same few queries with 3 connectors or 30."""
    for n in range(27):
        make_connector(f"extra-{n:02}", oauth2_data(f"Extra {n}"))
    with django_assert_max_num_queries(4):
        assert len(call(api, "get", "/api/v1/connectors")[1]["results"]) == 30
