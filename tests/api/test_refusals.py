"""Every endpoint refuses: no key and a revoked key (401), a key without its scope (403),
another partner's ids (404), a malformed body (400); and no answer but the credentials'
holds a secret."""

from __future__ import annotations

import json
import logging

import pytest
from django.utils import timezone

from accounts.models import Account
from api import services
from api.models import Scope
from audit.models import AuditEvent
from installs.models import Install
from links import services as links
from tests.api.helpers import ALL_SCOPES, assert_problem, bearer, make_key
from tests.factories import catalogue_connector, save_settings

API_KEY_SECRET = "fake-provider-key-sec-987"
ACCOUNT_BODY = {"name": "Initech", "external_id": "cust-new"}
INSTALL_BODY = {"connector": "sandbox-api-key", "values": {"api_key": "fake-api-key-123"}}
LINK_BODY = {"connectors": ["sandbox-api-key"]}

#: (method, path, scope, body): every endpoint, with its objects as placeholders.
ENDPOINTS = [
    ("get", "/api/v1/connectors", Scope.MANAGE, None),
    ("get", "/api/v1/connectors/sandbox-api-key", Scope.MANAGE, None),
    ("get", "/api/v1/accounts", Scope.MANAGE, None),
    ("post", "/api/v1/accounts", Scope.MANAGE, ACCOUNT_BODY),
    ("get", "/api/v1/accounts/{account}", Scope.MANAGE, None),
    ("patch", "/api/v1/accounts/{account}", Scope.MANAGE, {"name": "Renamed"}),
    ("delete", "/api/v1/accounts/{account}", Scope.MANAGE, None),
    ("get", "/api/v1/accounts/{account}/installs", Scope.MANAGE, None),
    ("post", "/api/v1/accounts/{account}/installs", Scope.MANAGE, INSTALL_BODY),
    ("post", "/api/v1/accounts/{account}/install-links", Scope.MANAGE, LINK_BODY),
    ("get", "/api/v1/installs/{install}", Scope.MANAGE, None),
    ("delete", "/api/v1/installs/{install}", Scope.MANAGE, None),
    ("post", "/api/v1/installs/{install}/verify", Scope.MANAGE, None),
    ("post", "/api/v1/installs/{install}/deauthenticate", Scope.MANAGE, None),
    ("get", "/api/v1/installs/{install}/credentials", Scope.CREDENTIALS, None),
    ("delete", "/api/v1/install-links/{link}", Scope.MANAGE, None),
    ("get", "/api/v1/events", Scope.MANAGE, None),
    ("get", "/api/v1/proxy/{install}/me", Scope.PROXY, None),
]
WITH_IDS = [e for e in ENDPOINTS if "{" in e[1]]
WITH_BODY = [e for e in ENDPOINTS if e[3] is not None]


def ids(endpoint) -> str:
    return f"{endpoint[0].upper()} {endpoint[1]}"


def world_for(partner, external_id: str) -> dict[str, object]:
    """An account with an authenticated API-key install and an active install link."""
    connector = catalogue_connector("sandbox-api-key")
    if not connector.partner_settings.filter(partner=partner).exists():
        save_settings(partner, connector)
    account = Account.objects.create(partner=partner, name="Initech", external_id=external_id)
    install = Install.objects.create(account=account, connector=connector,
                                     status=Install.Status.AUTHENTICATED,
                                     credentials={"api_key": API_KEY_SECRET},
                                     authenticated_at=timezone.now())
    link, _ = links.create_link(account=account, connectors=[connector])
    return {"account": account.external_id, "install": install.pk, "link": link.pk}


@pytest.fixture
def mine(partner, sandbox_transport):
    return world_for(partner, "cust-1")


@pytest.fixture
def theirs(other_partner, sandbox_transport):
    return world_for(other_partner, "glob-1")


def send(client, endpoint, objects, body="default"):
    """Call the endpoint with its objects; `body` (raw text, or JSON-encoded) or its own."""
    method, path, _, default = endpoint
    data = default if body == "default" else body
    if data is not None and not isinstance(data, str):
        data = json.dumps(data)
    return getattr(client, method)(path.format(**objects), data,
                                   content_type="application/json")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_no_key_is_401(client, mine, endpoint):
    """Without a key: 401 with `WWW-Authenticate: Bearer`, and nothing changes."""
    response = send(client, endpoint, mine)
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Account.objects.filter(external_id="cust-1").exists()


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_revoked_key_is_401(partner, mine, endpoint):
    """A revoked key: 401."""
    key, token = make_key(partner)
    services.revoke_key(key=key, actor=None)
    assert_problem(send(bearer(token), endpoint, mine), 401)


@pytest.mark.parametrize("header", ["Bearer hw_wrong", "Bearer " + "hw_" + "a" * 43,
                                    "Basic dXNlcjpwYXNz", "Bearer"])
def test_wrong_keys_are_401(client, mine, header):
    """Malformed, unknown or non-bearer credentials: 401."""
    response = client.get("/api/v1/accounts", headers={"Authorization": header})
    assert_problem(response, 401)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_missing_scope_is_403(partner, mine, endpoint):
    """A key with every scope but the endpoint's: 403, and nothing changes."""
    others = [s for s in ALL_SCOPES if s != endpoint[2]]
    response = send(bearer(make_key(partner, *others)[1]), endpoint, mine)
    assert_problem(response, 403)
    assert Install.objects.filter(pk=mine["install"], status="authenticated").exists()


@pytest.mark.parametrize("endpoint", WITH_IDS, ids=ids)
def test_other_partners_ids_are_404(api, mine, theirs, endpoint):
    """Globex's account, install and link ids through Acme's key: 404, Globex's rows intact."""
    assert_problem(send(api, endpoint, theirs), 404)
    assert Install.objects.filter(pk=theirs["install"], status="authenticated").exists()
    assert Account.objects.filter(external_id="glob-1").exists()


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=ids)
@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"', {"name": ["x"] * 3,
                                  "external_id": {"a": 1}, "connector": 5, "values": [1],
                                  "connectors": "x", "expires_minutes": "soon"}])
def test_malformed_bodies_are_400(api, mine, endpoint, body):
    """Not JSON, not an object, or fields of the wrong type: 400 with the errors."""
    response = send(api, endpoint, mine, body=body)
    assert_problem(response, 400)
    if isinstance(body, dict):
        assert response.json()["errors"]


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e[2] != Scope.CREDENTIALS],
                         ids=ids)
def test_no_secret_in_other_answers(api, key_token, mine, endpoint, caplog):
    """Apart from GET /credentials no answer, DEBUG log or audit event holds a secret."""
    caplog.set_level(logging.DEBUG)
    response = send(api, endpoint, mine)
    assert response.status_code < 500
    content = b"".join(response.streaming_content) if response.streaming else response.content
    events = str(list(AuditEvent.objects.values_list("detail", "actor_label")))
    for secret in (API_KEY_SECRET, key_token[1], INSTALL_BODY["values"]["api_key"]):
        assert secret.encode() not in content
        assert secret not in caplog.text
        assert secret not in events
