"""Exactly one webhook event per transition -- through the console, the customer pages and
the refresh worker -- and none for a change that rolled back (the audit outbox)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.db import transaction
from django.test import Client

from accounts.models import Account
from api.models import Scope
from audit.models import AuditEvent
from connectors import http
from connectors.auth.base import InvalidGrant, TransientError
from connectors.models import Connector
from installs import refresh
from installs.installing import create_install
from installs.models import Install
from tests.api.helpers import bearer, call, make_key
from tests.factories import catalogue_connector, configure_sandbox, install_path, make_link
from tests.installs.conftest import FakeMethod, make_install, sandbox_oauth2_connector
from tests.links.test_customer_flow import connect_oauth2
from tests.webhooks.conftest import deliver_all, relay_all
from webhooks import relay
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import create_endpoint

API_KEY = "fake-sandbox-api-key-456"


def sent() -> Counter[str]:
    """Relay the outbox; the webhook event types written, counted."""
    relay_all()
    return Counter(WebhookEvent.objects.values_list("type", flat=True))


def bodies() -> list[dict]:
    return [json.loads(e.body) for e in WebhookEvent.objects.order_by("pk")]


@pytest.fixture
def sandbox_user(sandbox_transport):
    from sandbox.services import create_user

    return create_user(username="ann", password="fake-password-456", api_key=API_KEY)


def test_console_transitions_each_send_one_event(admin_client, partner, sandbox_user,
                                                 endpoint, receiver, monkeypatch):
    """Account created, install created, authenticated, deauthenticated, deleted: one event
    each, one delivery each, payloads naming the account and install -- never the key."""
    catalogue_connector("sandbox-api-key")
    admin_client.post("/accounts/new/", {"name": "Initech", "external_id": "cust-9"})
    account = Account.objects.get(partner=partner)
    assert sent() == {"account.created": 1}
    admin_client.post(f"/accounts/{account.pk}/install/sandbox-api-key/",
                      {"install_name": "Keyed", "api_key": API_KEY})
    install = Install.objects.get()
    admin_client.post(install_path(install, "authenticate"))
    assert sent() == {"account.created": 1, "install.created": 1, "install.authenticated": 1}
    admin_client.post(install_path(install, "deauthenticate"))
    admin_client.post(install_path(install, "delete"))
    assert sent() == {"account.created": 1, "install.created": 1, "install.authenticated": 1,
                      "install.deauthenticated": 1, "install.deleted": 1}
    assert WebhookDelivery.objects.count() == 5
    authenticated, deleted = bodies()[2], bodies()[4]
    assert authenticated["data"] == {
        "account": {"external_id": "cust-9", "name": "Initech"},
        "install": {"id": install.pk, "connector": "sandbox-api-key", "name": "Keyed",
                    "status": "authenticated"}}
    assert deleted["data"]["install"] == {"id": install.pk, "connector": "sandbox-api-key",
                                          "name": "Keyed", "status": "deauthenticated"}
    assert set(authenticated) == {"id", "type", "created_at", "data"}
    monkeypatch.setattr(http, "transport", http.default_transport)  # the receiver, not the sandbox
    deliver_all()
    assert len(receiver.requests) == 5
    assert not any(API_KEY.encode() in r.body for r in receiver.requests)
    assert AuditEvent.objects.filter(relayed_at__isnull=True).count() == 0


def test_customer_pages_send_one_event_each(client: Client, partner, catalog,
                                            sandbox_transport, endpoint):
    """A customer connecting through an install link: install.created, .authenticated and
    install_link.used, once each."""
    configure_sandbox(partner, base="http://testserver")
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    _, token = make_link(account, list(Connector.objects.filter(slug="sandbox-oauth2")))
    connect_oauth2(client, token)
    assert sent() == {"install.created": 1, "install.authenticated": 1,
                      "install_link.used": 1}
    used = next(b for b in bodies() if b["type"] == "install_link.used")
    assert used["data"]["install"]["connector"] == "sandbox-oauth2"
    assert used["data"]["account"]["external_id"] == "cust-1"


@pytest.fixture
def worker_install(account, monkeypatch) -> tuple[Install, FakeMethod]:
    method = FakeMethod()
    monkeypatch.setattr(refresh, "method_for", lambda install, **kwargs: method)
    return make_install(account, sandbox_oauth2_connector()), method


def test_refresh_worker_failing_then_recovered(worker_install, endpoint):
    """Outage: one install.refresh_failing however many retries fail, then one
    install.recovered; a plain refresh sends nothing."""
    install, method = worker_install
    assert refresh.run_pass() == {refresh.REFRESHED: 1}
    assert sent() == {}  # a routine refresh is not news
    method.script = [TransientError("The provider answered 503."),
                     TransientError("The provider answered 503."), None]
    for outcome in (refresh.FAILING, refresh.FAILING, refresh.REFRESHED):
        Install.objects.filter(pk=install.pk).update(next_refresh_at=None,
                                                     expires_at=install.expires_at)
        assert refresh.run_pass() == {outcome: 1}
    assert sent() == {"install.refresh_failing": 1, "install.recovered": 1}
    failing, recovered = bodies()
    assert failing["data"]["install"]["status"] == "refresh_failing"
    assert failing["data"]["error"]
    assert recovered["data"]["install"]["status"] == "authenticated"
    assert "error" not in recovered["data"]


def test_refresh_worker_reauth_required_then_reauthenticated(worker_install, endpoint):
    """invalid_grant: one install.reauth_required carrying the safe message; signing in
    again afterwards is install.recovered."""
    install, method = worker_install
    method.script = [InvalidGrant("The provider rejected the refresh token (invalid_grant).")]
    assert refresh.run_pass() == {refresh.REAUTH_REQUIRED: 1}
    assert sent() == {"install.reauth_required": 1}
    with transaction.atomic():
        locked = Install.objects.for_update().get(pk=install.pk)
        locked.mark_authenticated(credentials={"access_token": "fake-a"}, expires_at=None,
                                  token_info={})
    assert sent() == {"install.reauth_required": 1, "install.recovered": 1}
    reauth = bodies()[0]
    assert reauth["data"]["error"].startswith("The provider rejected the refresh token")
    assert "fake-refresh" not in json.dumps(bodies())


def test_unreadable_credentials_are_reauth_required(worker_install, endpoint):
    """Credentials no key decrypts (rotate_keys, a refresh) → install.reauth_required."""
    install, _ = worker_install
    with transaction.atomic():
        locked = Install.objects.for_update().get(pk=install.pk)
        locked.mark_unreadable(error="Stored credentials could not be decrypted",
                               actor_label="rotate_keys", field="credentials")
    assert sent() == {"install.reauth_required": 1}


def test_rolled_back_transition_sends_nothing(account, endpoint):
    """A change whose transaction rolls back leaves no audit event, so no webhook."""
    connector = catalogue_connector("sandbox-api-key")
    with pytest.raises(RuntimeError), transaction.atomic():
        create_install(account=account, connector=connector, actor=None)
        raise RuntimeError("the rest of the request failed")
    assert not Install.objects.exists()
    assert sent() == {}
    assert not WebhookDelivery.objects.exists()


def test_each_audit_event_is_relayed_once(account, endpoint):
    """A second relay pass finds nothing; a relayed event is never fanned out again."""
    create_install(account=account, connector=catalogue_connector(
        "sandbox-api-key"), actor=None)
    assert sent() == {"install.created": 1}
    assert relay.relay_pass() == {}
    assert WebhookDelivery.objects.count() == 1


def test_subscriptions_and_disabled_endpoints(account, endpoint, partner, receiver):
    """Deliveries only to enabled endpoints that subscribe to the type (empty: all)."""
    picky, _ = create_endpoint(partner=partner, url=receiver.url + "/picky",
                               event_types=["install.deleted"])
    off, _ = create_endpoint(partner=partner, url=receiver.url + "/off")
    off.enabled = False
    off.save()
    create_install(account=account, connector=catalogue_connector(
        "sandbox-api-key"), actor=None)
    sent()
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [
        endpoint.row.pk]


def test_other_audit_events_are_marked_relayed_without_webhook(account, endpoint, partner):
    """Audit events that are no webhook news (settings saved, links created) are passed."""
    AuditEvent.objects.create(partner=partner, action="settings.saved", actor_label="x")
    assert sent() == {}
    assert not AuditEvent.objects.filter(relayed_at__isnull=True).exists()


def test_a_broken_event_does_not_block_the_rest(account, endpoint, monkeypatch, partner):
    """An event whose payload cannot be built is logged and passed over; the next is sent."""
    create_install(account=account, connector=catalogue_connector(
        "sandbox-api-key"), actor=None)
    AuditEvent.objects.create(partner=partner, account=account, action="account.created")
    real = relay.payload
    calls = []

    def first_fails(event, type_, public_id):
        calls.append(type_)
        if len(calls) == 1:
            raise KeyError("boom")
        return real(event, type_, public_id)

    monkeypatch.setattr(relay, "payload", first_fails)
    assert sent() == {"account.created": 1}
    assert not AuditEvent.objects.filter(relayed_at__isnull=True).exists()


def test_account_deleted_from_the_event(partner, endpoint):
    """account.deleted: the row is gone, the account's names come from its event."""
    AuditEvent.objects.create(partner=partner, action="account.deleted",
                              detail={"external_id": "cust-7", "name": "Gone Ltd"})
    assert sent() == {"account.deleted": 1}
    assert bodies()[0]["data"] == {"account": {"external_id": "cust-7", "name": "Gone Ltd"},
                                   "install": None}


def test_api_calls_send_one_event_each(partner, endpoint, sandbox_user):
    """Through the partner API: create, install (API key) and delete the account."""
    api = bearer(make_key(partner, Scope.MANAGE)[1])
    assert call(api, "post", "/api/v1/accounts",
                {"name": "Initech", "external_id": "cust-9"})[0] == 201
    catalogue_connector("sandbox-api-key")
    status, body = call(api, "post", "/api/v1/accounts/cust-9/installs",
                        {"connector": "sandbox-api-key", "values": {"api_key": API_KEY}})
    assert (status, body["status"]) == (201, "authenticated")
    assert call(api, "delete", "/api/v1/accounts/cust-9")[0] == 204
    assert sent() == {"account.created": 1, "install.created": 1, "install.authenticated": 1,
                      "install.deleted": 1, "account.deleted": 1}
    deleted = next(b for b in bodies() if b["type"] == "account.deleted")
    assert deleted["data"]["account"] == {"external_id": "cust-9", "name": "Initech"}
