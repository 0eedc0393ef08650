"""Hatchway's `jwt_bearer` (issue 21 §2) against Authlib's RFC 7523 JWT bearer grant
(`authlib.oauth2.rfc7523.JWTBearerGrant`, tests/interop/authlib_server.py), live on
127.0.0.1: Authlib checks each assertion's signature with the client's registered public
key, its iss, aud and exp, and the `sub`.

End to end through the API: install -> authenticated, verify, credentials, proxy, renewal
by the worker with a new assertion; refusals: a malformed PEM and a key of the wrong
algorithm (field errors, nothing saved), Authlib refusing the grant (reauthentication
required) and an outage of its token endpoint (refresh failing). No private key or
assertion shows in an API answer, a console page, the audit log, a webhook or a log line.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from connectors.models import Connector
from installs import refresh
from installs.models import Install
from tests.api.helpers import bearer, call, make_key
from tests.connectors.jwt_keys import ec_key, pem, public_pem, rsa_key
from tests.factories import assert_nothing_written, make_connector
from tests.installs.conftest import worker_pass
from tests.interop.authlib_server import GRANT_JWT_BEARER, USER_ID, Store
from tests.interop.conftest import STAND_IN
from webhooks.models import WebhookEvent
from webhooks.relay import relay_pass
from webhooks.services import create_endpoint

pytestmark = pytest.mark.django_db
CREATE = "/api/v1/accounts/cust-1/installs"


def jwt_bearer_connector(store: Store, *, algorithm: str = "RS256") -> Connector:
    """A jwt_bearer connector whose token endpoint and API are Authlib's."""
    data = {
        "name": "Authlib service account", "description": "Authlib's JWT bearer grant (tests).",
        "categories": ["CRM"],
        "auth": {"type": "jwt_bearer", "token_url": f"{STAND_IN}/oauth/token",
                 "algorithm": algorithm, "assertion_lifetime": 300,
                 "claims": {"iss": "{client_email}", "sub": "{subject}"}, "scopes": ["read"]},
        "fields": [{"key": "client_email", "label": "Client ID", "level": "account"},
                   {"key": "private_key", "label": "Private key", "level": "account",
                    "secret": True},
                   {"key": "subject", "label": "Act as", "level": "account"}],
        "api": {"base_url": f"{STAND_IN}/api", "verify": "GET /me"},
    }
    connector = make_connector("authlib-jwt-bearer", data)
    connector.spec_data = json.loads(json.dumps(connector.spec_data).replace(STAND_IN, store.base))
    connector.save(update_fields=["spec_data"])
    return connector


@pytest.fixture
def api(partner: Any) -> Any:
    cache.clear()
    return bearer(make_key(partner)[1])


@pytest.fixture
def service(authlib: Store, account: Account) -> tuple[Store, str]:
    """The connector, and a client registered at Authlib with the RSA key's public half."""
    jwt_bearer_connector(authlib)
    client = authlib.register(grant_types=(GRANT_JWT_BEARER,), public_key=public_pem(rsa_key()))
    return authlib, client.client_id


def create(api: Any, client_id: str, **values: str) -> tuple[int, Any]:
    return call(api, "post", CREATE, {
        "connector": "authlib-jwt-bearer", "name": "Robot",
        "values": {"client_email": client_id, "private_key": pem(rsa_key()),
                   "subject": USER_ID, **values}})


def make_due(install: Install) -> None:
    Install.objects.filter(pk=install.pk).update(
        expires_at=timezone.now() + timedelta(seconds=30), next_refresh_at=None)


def test_install_verify_credentials_proxy_and_renewal(api, service):
    store, client_id = service
    code, body = create(api, client_id)
    assert code == 201 and body["status"] == "authenticated", body
    install = Install.objects.get()
    [token] = store.tokens
    assert token.client_id == client_id and token.user_id == USER_ID and token.scope == "read"
    assert install.credentials["access_token"] == token.access_token
    assert 3590 <= (install.expires_at - timezone.now()).total_seconds() <= 3600

    code, body = call(api, "post", f"/api/v1/installs/{install.pk}/verify")
    assert code == 200 and body["ok"] is True
    code, body = call(api, "get", f"/api/v1/installs/{install.pk}/credentials")
    assert code == 200 and body["credentials"]["access_token"] == token.access_token
    response = api.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 200
    assert json.loads(b"".join(response.streaming_content))["id"] == USER_ID
    assert store.api_calls.count(token.access_token) >= 2  # verify at install, proxy

    make_due(install)
    assert worker_pass() == refresh.REFRESHED
    install.refresh_from_db()
    assert len(store.tokens) == 2 and install.credentials["access_token"] == (
        store.tokens[1].access_token)
    assert len(set(store.assertions)) == len(store.assertions) == 2  # a fresh one each time


def test_es256_keys_work_too(api, authlib, account):
    jwt_bearer_connector(authlib, algorithm="ES256")
    client = authlib.register(grant_types=(GRANT_JWT_BEARER,), public_key=public_pem(ec_key()))
    code, body = create(api, client.client_id, private_key=pem(ec_key()))
    assert code == 201 and body["status"] == "authenticated", body


@pytest.mark.parametrize("key, words", [
    ("-----BEGIN PRIVATE KEY-----\nZmFrZS1rZXk=\n-----END PRIVATE KEY-----", "could not be read"),
    (None, "RS256, which needs an RSA private key"),
])
def test_a_malformed_or_wrong_algorithm_key_is_refused_before_anything(api, service, partner,
                                                                      key, words):
    store, client_id = service
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    events_before = AuditEvent.objects.count()
    text = key or pem(ec_key())
    code, problem = create(api, client_id, private_key=text)
    assert code == 400 and words in problem["errors"]["values.private_key"][0]
    assert text not in json.dumps(problem)
    assert_nothing_written(events_before)
    assert not store.assertions  # Authlib was never asked


def test_authlib_refusing_the_grant_requires_reauthentication(api, service):
    store, client_id = service
    assert create(api, client_id)[0] == 201
    store.clients[client_id].public_key = public_pem(rsa_key(3072))  # the key was rotated
    install = Install.objects.get()
    make_due(install)
    assert worker_pass() == refresh.REAUTH_REQUIRED
    install.refresh_from_db()
    assert install.status == Install.Status.REAUTH_REQUIRED
    assert "invalid_grant" in install.last_error


def test_an_install_authlib_refuses_is_422_and_not_saved(api, service):
    store, client_id = service
    code, problem = create(api, client_id, subject="nobody")
    assert code == 422 and problem["type"] == "urn:hatchway:problem:invalid_grant"
    assert not Install.objects.exists()


def test_a_token_endpoint_outage_is_refresh_failing(api, service):
    store, client_id = service
    assert create(api, client_id)[0] == 201
    install = Install.objects.get()
    before = dict(install.credentials)
    store.token_outage = True
    make_due(install)
    assert worker_pass() == refresh.FAILING
    install.refresh_from_db()
    assert install.status == Install.Status.REFRESH_FAILING and install.credentials == before


def test_no_key_or_assertion_anywhere(api, admin_client, service, partner, account, caplog):
    store, client_id = service
    caplog.set_level(logging.DEBUG)
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    code, body = create(api, client_id)
    assert code == 201
    install = Install.objects.get()
    make_due(install)
    assert worker_pass() == refresh.REFRESHED
    relay_pass()
    pages = "".join(admin_client.get(url).content.decode() for url in (
        reverse("accounts:install", args=[account.pk, install.pk]),
        reverse("accounts:install_edit", args=[account.pk, install.pk])))
    answers = json.dumps([body, call(api, "get", f"/api/v1/installs/{install.pk}")[1],
                          call(api, "get", f"/api/v1/installs/{install.pk}/credentials")[1]])
    events = json.dumps([e.detail for e in AuditEvent.objects.all()], default=str)
    webhooks = "".join(WebhookEvent.objects.values_list("body", flat=True))
    # Ours (Authlib's and werkzeug's are the provider's, not Hatchway's).
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if not record.name.startswith(("authlib", "werkzeug")))
    key_lines = pem(rsa_key()).splitlines()[1:-1]
    assert len(store.assertions) == 2
    for secret in (*key_lines[:3], *store.assertions):
        for text in (pages, answers, events, webhooks, logged):
            assert secret not in text
