"""`type = "jwt"` (issue 21 §3): a self-signed token sent as it is (Ghost's Admin API).

The catalogue rules name the refused key; the key is checked on save (hex HS256 secret or
PEM of the declared algorithm; nothing saved when refused); a token is minted at use time
-- verify, proxy and every credentials read -- and never stored, so the refresh workers
never pick the install up; a test double checks every call the way Ghost does (HS256,
kid, aud "/admin/", exp at most 5 minutes after iat); the key and the tokens appear in no
answer, page, audit event, webhook or log line.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from datetime import datetime
from typing import Any

import pytest
import requests
from django.core.cache import cache
from django.urls import reverse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey

from accounts.models import Account
from audit.models import AuditEvent
from connectors.auth import build_method
from connectors.auth.base import AuthError, Context, ErrorKind
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from installs.models import Install, due_filter
from tests.api.helpers import bearer, call, make_key
from tests.connectors.jwt_keys import ec_key, pem, public_pem, rsa_key
from tests.factories import (
    assert_nothing_written,
    catalogue_connector,
    catalogue_refusal,
    make_connector,
)
from tests.fake_provider import FakeProvider
from tests.installs.conftest import worker_pass
from webhooks.models import WebhookEvent
from webhooks.relay import relay_pass
from webhooks.services import create_endpoint

pytestmark = pytest.mark.django_db

SERVER = "https://blog.acme.test"
ADMIN = f"{SERVER}/ghost/api/admin"
KEY_ID = "6489f2c1d0e1f2a3b4c5d6e7"
SECRET = "fa" * 32  # an obviously fake 32-byte secret, hex
ADMIN_KEY = f"{KEY_ID}:{SECRET}"
CREATE = "/api/v1/accounts/cust-1/installs"


# --- a Ghost-like Admin API that checks each token as Ghost does -------------------------


class GhostDouble(FakeProvider):
    """Answers under /ghost/api/admin/ only to `Authorization: Ghost <token>` with an HS256
    token signed by the secret its `kid` names, aud "/admin/", unexpired, exp - iat <= 300."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = {KEY_ID: bytes.fromhex(SECRET)}
        self.tokens: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if not (request.url or "").startswith(ADMIN + "/"):
            return super().send(request, **kwargs)
        self.calls.append(request)
        ok = self.accepts(self.header(request, "Authorization"))
        response = requests.Response()
        response.status_code = 200 if ok else 401
        response._content_consumed = True
        response._content = json.dumps({"posts": []} if ok else {"errors": [
            {"type": "UnauthorizedError"}]}).encode()
        response.headers["Content-Type"] = "application/json"
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    def accepts(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme != "Ghost" or not token:
            return False
        self.tokens.append(token)
        try:
            header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
            secret = self.keys.get(header.get("kid"))
            if secret is None or header.get("alg") != "HS256":
                return False
            claims = jwt.decode(token, OctKey.import_key(secret), algorithms=["HS256"]).claims
            jwt.JWTClaimsRegistry(aud={"essential": True, "value": "/admin/"},
                                  exp={"essential": True},
                                  iat={"essential": True}).validate(claims)
        except (JoseError, ValueError):
            return False
        return int(claims["exp"]) - int(claims["iat"]) <= 300


@pytest.fixture
def ghost(monkeypatch, settings) -> GhostDouble:
    """Ghost on a public address (production rules), every outbound call to the double."""
    from connectors import http

    settings.ALLOW_LOCAL_PROVIDERS = False
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "blog.acme.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.40", 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    double = GhostDouble()
    monkeypatch.setattr(http, "transport", double)
    return double


@pytest.fixture
def api(partner):
    cache.clear()
    return bearer(make_key(partner)[1])


@pytest.fixture
def account(partner) -> Account:
    catalogue_connector("ghost-admin")
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


def create(api, **values: str) -> tuple[int, Any]:
    return call(api, "post", CREATE, {"connector": "ghost-admin", "values": {
        "base_url": SERVER, "private_key": ADMIN_KEY, **values}})


@pytest.fixture
def installed(api, account, ghost) -> Install:
    code, body = create(api)
    assert code == 201 and body["status"] == "authenticated", body
    return Install.objects.get()


# --- the catalogue rules -----------------------------------------------------------------


def data(**auth: Any) -> dict[str, Any]:
    return {"name": "Self-signed", "description": "JWT.",
            "auth": {"type": "jwt", "algorithm": "ES256", "claims": {"iss": "{issuer_id}"},
                     "jwt_header": {"kid": "{key_id}"}, "lifetime": 1200, **auth},
            "api": {"base_url": "https://api.provider.test/v1", "verify": "GET /apps"},
            "fields": [{"key": "issuer_id", "label": "Issuer ID", "level": "account"},
                       {"key": "key_id", "label": "Key ID", "level": "account"},
                       {"key": "private_key", "label": "Private key", "level": "account",
                        "secret": True}]}


def test_the_ghost_entry_and_an_es256_example_are_accepted():
    spec = catalogue_connector("ghost-admin").spec
    assert (spec.auth.type, spec.auth.algorithm, spec.auth.token_prefix) == ("jwt", "HS256",
                                                                             "Ghost ")
    assert validate("t.toml", "t", data())["auth"]["lifetime"] == 1200


@pytest.mark.parametrize("change, words", [
    ({"claims": {"iss": "x", "exp": "1"}}, "auth.claims.exp: is set by Hatchway"),
    ({"jwt_header": {"alg": "none"}}, "auth.jwt_header.alg: is set by Hatchway"),
    ({"claims": {"iss": "{nope}"}}, "refers to {nope}"),
    ({"claims": {"iss": "{private_key}"}}, "may not use {private_key}"),
    ({"lifetime": 7200}, "auth.lifetime"),
    ({"algorithm": "none"}, "auth.algorithm"),
    ({"token_url": "https://api.provider.test/token"}, "auth.token_url: does not apply"),
])
def test_jwt_declarations_that_cannot_work_are_refused(change, words):
    assert words in catalogue_refusal(data(**change))


def test_the_key_must_be_a_secret_field_and_jwt_keys_belong_to_jwt():
    spec = data()
    spec["fields"][2]["secret"] = False
    assert "must be true" in catalogue_refusal(spec)
    assert "auth.jwt_header: does not apply" in catalogue_refusal({
        "name": "K", "description": "K.", "auth": {"type": "api_key", "header": "X-Key",
                                                  "jwt_header": {"kid": "x"}},
        "fields": [{"key": "api_key", "label": "Key", "level": "account", "secret": True}]})
    bearer_hs256 = {"name": "B", "description": "B.", "auth": {
        "type": "jwt_bearer", "token_url": "https://a.provider.test/t", "algorithm": "HS256",
        "claims": {"iss": "x"}}, "fields": [{"key": "private_key", "label": "K",
                                            "level": "account", "secret": True}]}
    assert "auth.algorithm: jwt_bearer signs with a private key" in catalogue_refusal(bearer_hs256)


# --- minting ---------------------------------------------------------------------------


def method(spec: dict[str, Any], **values: str) -> Any:
    return build_method(Context(spec=ConnectorSpec.from_data("t", validate("t.toml", "t", spec)),
                                values=values))


def test_an_es256_token_carries_the_claims_header_and_lifetime():
    key = ec_key()
    token, expires = method(data(), issuer_id="fake-issuer", key_id="FAKEKEY1",
                            private_key=pem(key)).mint()
    decoded = jwt.decode(token, ECKey.import_key(public_pem(key)), algorithms=["ES256"])
    assert decoded.header == {"alg": "ES256", "typ": "JWT", "kid": "FAKEKEY1"}
    assert decoded.claims["iss"] == "fake-issuer"
    assert decoded.claims["exp"] - decoded.claims["iat"] == 1200
    assert abs(decoded.claims["iat"] - time.time()) < 5
    assert isinstance(expires, datetime)


@pytest.mark.parametrize("key, words", [
    (lambda: pem(rsa_key()), "needs an EC private key"),
    (lambda: "fake-not-a-key", "PEM format"),
])
def test_a_stored_key_that_cannot_sign_is_a_configuration_error(key, words):
    text = key()
    with pytest.raises(AuthError) as caught:
        method(data(), issuer_id="i", key_id="k", private_key=text).mint()
    assert caught.value.kind == ErrorKind.CONFIGURATION and words in caught.value.message
    assert text not in caught.value.message


# --- Ghost end to end through the API --------------------------------------------------


def test_an_install_keeps_only_the_key_and_stores_no_token(installed, ghost):
    assert installed.secret_values == {"private_key": SECRET}  # the id went to its field
    assert installed.values["key_id"] == KEY_ID
    assert installed.credentials == {"minted_at_use": True} and installed.expires_at is None
    [verify] = ghost.calls
    assert verify.url == f"{ADMIN}/posts/?limit=1"
    assert ghost.header(verify, "Accept-Version") == "v5.0"
    assert ghost.header(verify, "Authorization").startswith("Ghost ey")
    # Never due: the workers leave it alone (a 5-minute token would otherwise be renewed
    # on every pass, under a 10-minute refresh margin).
    assert not Install.objects.filter(due_filter()).exists()
    assert worker_pass() == "not_due"


def test_verify_credentials_and_proxy_each_mint_a_token(api, installed, ghost):
    code, body = call(api, "post", f"/api/v1/installs/{installed.pk}/verify")
    assert code == 200 and body["ok"] is True, body
    code, body = call(api, "get", f"/api/v1/installs/{installed.pk}/credentials")
    assert code == 200 and body["type"] == "jwt", body
    token = body["credentials"]["access_token"]
    assert set(body["credentials"]) == {"access_token"}
    assert ghost.accepts(f"Ghost {token}")  # the partner can call Ghost with it
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert 250 < expires.timestamp() - time.time() <= 300
    response = api.get(f"/api/v1/proxy/{installed.pk}/posts/")
    assert response.status_code == 200
    assert json.loads(b"".join(response.streaming_content)) == {"posts": []}
    assert len(ghost.calls) == 3 and len(ghost.tokens) == 4  # install, verify, proxy (+read)
    installed.refresh_from_db()
    assert installed.credentials == {"minted_at_use": True}  # still no token stored


@pytest.mark.parametrize("key, words", [
    ("not-hex-at-all", "hexadecimal"),
    (f"{KEY_ID}:zz{SECRET[2:]}", "hexadecimal"),
    (f"{KEY_ID}:{'ab' * 8}", "at least 32"),
    (f"bad id:{SECRET}", "id:secret"),
])
def test_a_bad_key_is_a_field_error_and_nothing_is_written(api, account, ghost, key, words):
    events_before = AuditEvent.objects.count()
    code, problem = create(api, private_key=key)
    assert code == 400, problem
    [message] = problem["errors"]["values.private_key"]
    assert words in message and key not in json.dumps(problem)
    assert_nothing_written(events_before)
    assert ghost.calls == []


def test_a_key_ghost_does_not_know_is_refused_at_verify(api, account, ghost):
    events_before = AuditEvent.objects.count()
    code, problem = create(api, private_key=f"{KEY_ID}:{'0b' * 32}")
    assert code == 422 and problem["type"].endswith(":verify_failed"), problem
    assert "The signed token was rejected (HTTP 401)." == problem["detail"]
    assert_nothing_written(events_before)


def test_a_key_of_the_wrong_algorithm_is_refused(api, account, partner, ghost):
    spec = data()
    make_connector("app-store", spec)
    code, problem = call(api, "post", CREATE, {"connector": "app-store", "values": {
        "issuer_id": "fake-issuer", "key_id": "FAKEKEY1", "private_key": pem(rsa_key())}})
    assert code == 400, problem
    assert "needs an EC private key" in problem["errors"]["values.private_key"][0]
    assert not Install.objects.exists()


def test_no_key_or_token_in_answers_pages_audit_webhooks_or_logs(
        api, account, partner, ghost, caplog, admin_client):
    caplog.set_level(logging.DEBUG)
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    code, created = create(api)
    assert code == 201
    install = Install.objects.get()
    answers = [json.dumps(created)]
    for verb, path in (("post", "verify"), ("get", "credentials"), ("get", "")):
        answers.append(json.dumps(call(api, verb, f"/api/v1/installs/{install.pk}/{path}")[1]))
    relay_pass()
    page = admin_client.get(reverse("accounts:install", args=[account.pk, install.pk]))
    edit = admin_client.get(reverse("accounts:install_edit", args=[account.pk, install.pk]))
    assert page.status_code == edit.status_code == 200
    assert "Admin API key" in edit.content.decode()
    events = json.dumps([e.detail for e in AuditEvent.objects.all()], default=str)
    deliveries = "".join(WebhookEvent.objects.values_list("body", flat=True))
    assert deliveries
    read_token = json.loads(answers[2])["credentials"]["access_token"]
    sent = [t for t in ghost.tokens if t != read_token]
    texts = (events, deliveries, caplog.text, page.content.decode(), edit.content.decode(),
             *answers[:2], answers[3])
    for secret in (SECRET, *sent):
        for text in texts:
            assert secret not in text


def test_an_import_takes_the_key_in_values_like_an_install(api, account, ghost):
    code, body = call(api, "post", CREATE, {"connector": "ghost-admin", "credentials": {},
                                            "values": {"base_url": SERVER,
                                                       "private_key": ADMIN_KEY}})
    assert code == 201 and body["status"] == "authenticated", body
    install = Install.objects.get()
    assert install.secret_values == {"private_key": SECRET}
    assert install.credentials == {"minted_at_use": True} and install.expires_at is None


# --- a partner-level key in Authentication Settings -------------------------------------


def partner_keyed() -> None:
    spec = data()
    for field in spec["fields"][1:]:
        field["level"] = "partner"  # the partner's own key (App Store Connect's team key)
    make_connector("app-store", spec)


@pytest.mark.parametrize("key, words", [
    (lambda: "fake-not-a-pem", "PEM format"),
    (lambda: pem(rsa_key()), "needs an EC private key"),
])
def test_settings_refuse_a_key_that_cannot_sign_and_save_nothing(api, partner, key, words):
    from connectors.models import PartnerAuthSettings

    partner_keyed()
    text = key()
    events_before = AuditEvent.objects.count()
    code, problem = call(api, "put", "/api/v1/connectors/app-store/settings", {"values": {
        "key_id": "FAKEKEY1", "private_key": text}})
    assert code == 422 and words in problem["errors"]["values.private_key"][0], problem
    assert text not in json.dumps(problem)
    assert not PartnerAuthSettings.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_settings_keep_a_good_key_as_a_clean_pem(api, partner):
    from connectors.models import PartnerAuthSettings

    partner_keyed()
    key = ec_key()
    code, body = call(api, "put", "/api/v1/connectors/app-store/settings", {"values": {
        "key_id": "FAKEKEY1", "private_key": pem(key).replace("\n", " ")}})
    assert code == 200 and body["secrets_set"] == ["private_key"], body
    assert PartnerAuthSettings.objects.get().secret_values == {"private_key": pem(key)}
