"""Issue 20 §4: importing an existing connection through POST /accounts/{id}/installs with
`credentials` -- refreshed once when expired, verified, then saved; refused → 422 and
nothing saved; the webhook says `imported: true`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import Install
from tests.api.helpers import call
from tests.factories import assert_nothing_written
from tests.fake_provider import install_fake
from tests.import_fixtures import TOKEN_URL, VERIFY_URL, accept, bearer_of, import_connector
from webhooks import relay
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import create_endpoint

CREATE = "/api/v1/accounts/cust-1/installs"
PAST = (timezone.now() - timedelta(hours=1)).isoformat()


@pytest.fixture
def provider(monkeypatch):
    return install_fake(monkeypatch)


@pytest.fixture
def account(partner):
    import_connector(partner)
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


def post_import(api, credentials, **extra):
    return call(api, "post", CREATE, {"connector": "fake-import", "name": "Sales",
                                      "credentials": credentials, **extra})


def test_expired_token_is_refreshed_once_verified_and_authenticated(api, account, partner,
                                                                    provider, caplog):
    """An expired access token with a refresh token: one refresh request (the workers'
    path), the verify request with the fresh token, 201 authenticated -- and the audit
    event, the webhook with imported: true, no secret in any of them or the logs."""
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    accept(provider)
    code, body = post_import(api, {"access_token": "fake-access-old-1",
                                   "refresh_token": "fake-refresh-sec-1", "expires_at": PAST},
                             values={"region": "eu"})
    assert code == 201 and body["status"] == "authenticated", body
    refreshes = provider.calls_to(TOKEN_URL)
    assert len(refreshes) == 1
    assert provider.form(refreshes[0])["refresh_token"] == "fake-refresh-sec-1"
    assert bearer_of(provider) == ["Bearer fake-access-new-1"]
    install = Install.objects.get()
    assert install.credentials["access_token"] == "fake-access-new-1"
    assert install.credentials["refresh_token"] == "fake-refresh-sec-1"  # kept (RFC 6749 §6)
    assert install.expires_at > timezone.now() and install.values == {"region": "eu"}
    event = AuditEvent.objects.get(action="install.imported")
    assert event.actor_label == "API key Backend"
    assert event.detail["refreshed"] is True and event.detail["verified"] is True
    relay.relay_pass()
    webhook = WebhookEvent.objects.get(type="install.authenticated")
    assert json.loads(webhook.body)["data"]["imported"] is True
    assert WebhookDelivery.objects.filter(event=webhook).count() == 1
    everything = str(body) + str(list(AuditEvent.objects.values_list("detail", flat=True))) \
        + "".join(e.body for e in WebhookEvent.objects.all()) + caplog.text
    for secret in ("fake-access-old-1", "fake-refresh-sec-1", "fake-access-new-1"):
        assert secret not in everything


def test_valid_token_is_not_refreshed(api, account, provider):
    """A token not expired yet: no refresh, verified as given, its expiry kept."""
    accept(provider)
    code, body = post_import(api, {"access_token": "fake-access-ok-1", "expires_in": 1800,
                                   "scope": "read"})
    assert code == 201 and body["status"] == "authenticated"
    assert provider.calls_to(TOKEN_URL) == []
    assert bearer_of(provider) == ["Bearer fake-access-ok-1"]
    assert Install.objects.get().token_info == {"scope": "read"}


def test_refused_token_is_422_and_nothing_saved(api, account, partner, provider):
    """The provider rejects the token at verify: 422 with its safe message, no install, no
    audit event, no webhook delivery."""
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    provider.add("GET", VERIFY_URL, status=401, json_body={"error": "invalid_token"})
    events_before = AuditEvent.objects.count()
    code, problem = post_import(api, {"access_token": "fake-access-bad-1"})
    assert code == 422 and "rejected" in problem["detail"]
    assert problem["type"] == "urn:hatchway:problem:verify_failed"
    assert_nothing_written(events_before)


def test_refused_refresh_is_422_and_nothing_saved(api, account, provider):
    """A refresh token the provider rejects: 422, no verify request, nothing written."""
    provider.add("POST", TOKEN_URL, status=400, json_body={"error": "invalid_grant"})
    events_before = AuditEvent.objects.count()
    code, problem = post_import(api, {"refresh_token": "fake-refresh-bad-1"})
    assert code == 422
    assert len(provider.calls_to(TOKEN_URL)) == 1 and provider.calls_to(VERIFY_URL) == []
    assert not Install.objects.exists() and AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("credentials, error", [
    ({"access_token": "fake\r\nX-Injected: 1"}, "control characters"),
    ({"access_token": "x" * (16 * 1024 + 1)}, "longer than 16 KB"),
    ({"token_type": "Bearer"}, "access_token or a refresh_token"),
    ({"access_token": "fake-a", "expires_at": "tomorrow"}, "RFC 3339"),
    ({"access_token": "fake-a", "password": "fake-p"}, "Unknown credential key: password"),
])
def test_bad_credentials_are_400_before_any_request(api, account, provider, credentials,
                                                    error):
    """Tokens pass the token responses' checks; the shape is checked; nothing is sent."""
    code, problem = post_import(api, credentials)
    assert code == 400 and error in problem["errors"]["credentials"][0], problem
    assert provider.calls == [] and not Install.objects.exists()
    assert "fake-a" not in str(problem) and "X-Injected" not in str(problem)


def test_captured_value_must_match_its_pattern(api, account, provider):
    """Captured values are checked like a sign-in's: a bad one is 400, nothing sent."""
    code, problem = post_import(api, {"access_token": "fake-a"}, values={"region": "EUR!"})
    assert code == 400 and "values.region" in problem["errors"]
    assert provider.calls == []


def test_oauth1_credentials_are_imported(api, account, partner, provider):
    """OAuth 1.0a: oauth_token and oauth_token_secret, stored as given."""
    from tests.factories import fake_oauth1_connector
    fake_oauth1_connector(partner)
    code, body = call(api, "post", CREATE, {"connector": "fake-oauth1", "credentials": {
        "oauth_token": "fake-tok-1", "oauth_token_secret": "fake-tok-sec-1"}})
    assert code == 201 and body["status"] == "authenticated", body
    assert Install.objects.get().credentials == {"oauth_token": "fake-tok-1",
                                                 "oauth_token_secret": "fake-tok-sec-1"}
    assert code == 201 and "fake-tok-sec-1" not in str(body)


def test_api_key_is_imported_from_its_values(api, partner, sandbox_transport):
    """API key: `credentials: {}`, the key in `values`, verified at the sandbox, stored as
    the credentials (not a value) and recorded as imported."""
    from sandbox import services as sandbox
    from tests.factories import catalogue_connector
    catalogue_connector("sandbox-api-key")
    sandbox.create_user(username="sandy", password="fake-password-123",
                        api_key="fake-api-key-123")
    Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    code, body = call(api, "post", CREATE, {"connector": "sandbox-api-key", "credentials": {},
                                            "values": {"api_key": "fake-api-key-123"}})
    assert code == 201 and body["status"] == "authenticated", body
    install = Install.objects.get()
    assert install.credentials == {"api_key": "fake-api-key-123"}
    assert install.secret_values == {} and install.values == {}
    assert AuditEvent.objects.filter(action="install.imported", install=install).exists()
    code, problem = call(api, "post", CREATE, {"connector": "sandbox-api-key",
                                               "credentials": {"api_key": "fake-x"}})
    assert code == 400 and "as values" in problem["errors"]["credentials"][0]
