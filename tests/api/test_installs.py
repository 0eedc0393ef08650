"""Installs through the API: create (authenticated at once, or pending), list, get,
verify, deauthenticate, delete -- the console's services, audited with the key."""

from __future__ import annotations

import pytest
import requests

from accounts.models import Account
from audit.models import AuditEvent
from connectors import http
from installs.models import Install
from sandbox import services as sandbox
from tests.api.helpers import call
from tests.factories import (
    assert_nothing_written,
    catalogue_connector,
    sandbox_client_credentials,
    sandbox_oauth2,
)
from webhooks.services import create_endpoint

SANDBOX_KEY = "fake-api-key-123"


class OutageAdapter(requests.adapters.BaseAdapter):
    """Every outbound request fails to connect."""

    def send(self, request, **kwargs):
        raise requests.ConnectionError("fake outage")

    def close(self):
        pass
CREATE = "/api/v1/accounts/cust-1/installs"


@pytest.fixture
def account(partner, sandbox_transport):
    catalogue_connector("sandbox-api-key")
    sandbox.create_user(username="sandy", password="fake-password-123", api_key=SANDBOX_KEY)
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


def create_api_key_install(api, key: str = SANDBOX_KEY):
    return call(api, "post", CREATE, {"connector": "sandbox-api-key", "name": "Support desk",
                                      "values": {"api_key": key}})


def test_api_key_install_authenticates_at_once(api, account):
    """API key: verified against the sandbox, 201 authenticated, no secret in the answer."""
    code, body = create_api_key_install(api)
    assert code == 201 and body["status"] == "authenticated", body
    assert body["connector"] == "sandbox-api-key" and body["account"] == "cust-1"
    assert body["name"] == "Support desk" and SANDBOX_KEY not in str(body)
    install = Install.objects.get()
    assert install.credentials == {"api_key": SANDBOX_KEY}
    labels = set(AuditEvent.objects.filter(install=install).values_list("actor_label", flat=True))
    assert labels == {"API key Backend"}


def test_rejected_key_is_422_and_nothing_saved(api, account, partner):
    """Issue 19 item 2: a key the provider rejects: 422 with its safe message, and the
    refused change leaves nothing -- no install, no audit event, no webhook event."""
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    events_before = AuditEvent.objects.count()
    code, problem = create_api_key_install(api, key="fake-wrong-key-000")
    assert code == 422 and "rejected" in problem["detail"]
    assert problem["type"] == "urn:hatchway:problem:verify_failed"
    assert_nothing_written(events_before)


def test_a_provider_outage_at_install_leaves_nothing_either(api, account, monkeypatch):
    """The provider unreachable while verifying: 422 (unavailable), nothing written."""
    monkeypatch.setattr(http, "transport", lambda: OutageAdapter())
    events_before = AuditEvent.objects.count()
    code, problem = create_api_key_install(api)
    assert code == 422 and problem["type"] == "urn:hatchway:problem:unavailable"
    assert not Install.objects.exists() and AuditEvent.objects.count() == events_before


def test_missing_and_unknown_values_are_400(api, account):
    """A required value missing, or a value the connector does not ask: 400 per field."""
    code, problem = call(api, "post", CREATE, {"connector": "sandbox-api-key",
                                               "values": {"colour": "red"}})
    assert code == 400
    assert set(problem["errors"]) == {"values.api_key", "values.colour"}
    assert not Install.objects.exists()


def test_unknown_connector_is_400(api, account):
    """A slug that is no connector: 400 on `connector`."""
    code, problem = call(api, "post", CREATE, {"connector": "nope"})
    assert code == 400 and "connector" in problem["errors"]


def test_client_credentials_fetch_a_token_at_once(api, account, partner):
    """Client credentials: the token is fetched from the sandbox, 201 authenticated."""
    sandbox_client_credentials(partner)
    code, body = call(api, "post", CREATE, {"connector": "sandbox-client-credentials"})
    assert code == 201 and body["status"] == "authenticated", body
    assert Install.objects.get().credentials["access_token"] not in str(body)


def test_browser_flow_is_pending(api, account, partner):
    """OAuth 2.0: 201 pending, to complete through an install link."""
    sandbox_oauth2(partner)
    code, body = call(api, "post", CREATE, {"connector": "sandbox-oauth2"})
    assert code == 201 and body["status"] == "pending"


def test_list_get_verify_deauthenticate_delete(api, account):
    """The install's life through the API."""
    install_id = create_api_key_install(api)[1]["id"]
    code, page = call(api, "get", CREATE)
    assert [i["id"] for i in page["results"]] == [install_id]
    code, one = call(api, "get", f"/api/v1/installs/{install_id}")
    assert one["status"] == "authenticated" and one["last_error"] == ""
    code, check = call(api, "post", f"/api/v1/installs/{install_id}/verify")
    assert code == 200 and check["ok"] is True
    assert AuditEvent.objects.get(action="install.verified").actor_label == "API key Backend"
    code, deauth = call(api, "post", f"/api/v1/installs/{install_id}/deauthenticate")
    assert code == 200 and deauth["install"]["status"] == "deauthenticated"
    assert deauth["revocation"] == "not_supported"
    assert Install.objects.get().credentials == {}
    code, check = call(api, "post", f"/api/v1/installs/{install_id}/verify")
    assert check["ok"] is False
    assert call(api, "delete", f"/api/v1/installs/{install_id}")[0] == 204
    assert not Install.objects.exists()
    assert call(api, "get", f"/api/v1/installs/{install_id}")[0] == 404


def test_constant_queries(api, account, django_assert_max_num_queries):
    """The install list costs the same queries for 1 install or 30."""
    connector = catalogue_connector("sandbox-api-key")
    for n in range(30):
        Install.objects.create(account=account, connector=connector, name=f"Desk {n}")
    with django_assert_max_num_queries(4):
        assert len(call(api, "get", CREATE)[1]["results"]) == 30
