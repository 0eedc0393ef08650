"""`token_auth = "private_key_jwt"` (RFC 7523 §2.2) against Authlib's own client-assertion
verification (`authlib.oauth2.rfc7523.JWTBearerClientAssertion`), live on 127.0.0.1: a client
credentials install authenticates with a signed assertion, and Authlib refuses one signed
with another key. Unit checks: the assertion's claims, and keys that cannot sign."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.cache import cache
from flask import Flask
from joserfc import jwt
from joserfc.jwk import import_key

from accounts.models import Account
from audit.models import AuditEvent
from connectors.auth import build_method
from connectors.auth.base import AuthError, Context, ErrorKind
from connectors.auth.client_assertion import ASSERTION_TYPE
from connectors.schema import ConnectorSpec
from connectors.spec import CatalogError, validate
from installs.models import Install
from tests.api.helpers import bearer, call, make_key
from tests.factories import assert_nothing_written, make_connector, save_settings
from tests.interop.serving import serving

pytestmark = pytest.mark.django_db
STAND_IN = "https://authlib-jwt.example"
CLIENT_ID = "fake-jwt-client"


def pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: Any) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


# --- Authlib's server, with private_key_jwt client authentication ---------------------


@dataclass
class KeyClient(ClientMixin):  # type: ignore[misc]
    client_id: str
    public_key: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "private_key_jwt"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


@dataclass
class Store:
    base: str = ""
    clients: dict[str, KeyClient] = field(default_factory=dict)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    jtis: set[str] = field(default_factory=set)


STORE = Store()


class ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]


class Assertion(JWTBearerClientAssertion):  # type: ignore[misc]
    """Authlib's server-side RFC 7523 client assertion check, as private_key_jwt."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self) -> list[str]:
        return [f"{STORE.base}/oauth/token"]

    def resolve_client_public_key(self, client: KeyClient) -> str:
        return client.public_key

    def validate_jti(self, claims: Any, jti: str) -> bool:
        if jti in STORE.jtis:  # a replayed assertion
            return False
        STORE.jtis.add(jti)
        return True


def create_app() -> Flask:
    app = Flask("authlib-private-key-jwt")
    server = AuthorizationServer(app, query_client=lambda client_id: STORE.clients.get(client_id),
                                 save_token=lambda token, request: STORE.tokens.append(token))
    server.register_grant(ClientCredentials)
    server.register_client_auth_method("private_key_jwt", Assertion())

    @app.post("/oauth/token")
    def issue_token() -> Any:
        return server.create_token_response()

    return app


@pytest.fixture(scope="module")
def authlib_base() -> Iterator[str]:
    with serving(create_app(), "authlib-private-key-jwt") as base:
        yield base


@pytest.fixture
def authlib(authlib_base: str) -> Store:
    STORE.base, STORE.tokens, STORE.jtis = authlib_base, [], set()
    STORE.clients = {CLIENT_ID: KeyClient(CLIENT_ID, public_pem(RSA_KEY))}
    return STORE


def data(**auth: Any) -> dict[str, Any]:
    return {
        "name": "Authlib JWT", "description": "Client credentials with private_key_jwt.",
        "auth": {"type": "oauth2_client_credentials", "token_url": f"{STAND_IN}/oauth/token",
                 "token_auth": "private_key_jwt", **auth},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "private_key", "label": "Private key", "secret": True},
                   {"key": "key_id", "label": "Key ID", "required": False}],
    }


@pytest.fixture
def connector(partner, authlib):
    connector = make_connector("authlib-jwt", data())
    connector.spec_data = json.loads(json.dumps(connector.spec_data).replace(
        STAND_IN, authlib.base))
    connector.save(update_fields=["spec_data"])
    return connector


@pytest.fixture
def api(partner, settings):
    settings.ALLOW_LOCAL_PROVIDERS = True  # Authlib listens on 127.0.0.1
    cache.clear()
    Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    return bearer(make_key(partner)[1])


def test_a_client_credentials_install_authenticates_with_a_signed_assertion(
        api, partner, connector, authlib):
    save_settings(partner, connector, {"client_id": CLIENT_ID, "key_id": "k1"},
                  {"private_key": pem(RSA_KEY)})
    code, body = call(api, "post", "/api/v1/accounts/cust-1/installs",
                      {"connector": "authlib-jwt"})
    assert code == 201 and body["status"] == "authenticated", body
    [token] = authlib.tokens
    assert Install.objects.get().credentials["access_token"] == token["access_token"]
    assert len(authlib.jtis) == 1  # Authlib checked the assertion's jti


def test_an_assertion_signed_with_another_key_is_refused_and_nothing_saved(
        api, partner, connector, authlib):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    save_settings(partner, connector, {"client_id": CLIENT_ID}, {"private_key": pem(other)})
    events_before = AuditEvent.objects.count()
    code, body = call(api, "post", "/api/v1/accounts/cust-1/installs",
                      {"connector": "authlib-jwt"})
    assert code == 422 and body["type"].endswith(":token_error"), body
    assert "invalid_client" in body["detail"]
    assert "PRIVATE KEY" not in json.dumps(body)
    assert authlib.tokens == []
    assert_nothing_written(events_before)


# --- the assertion and the keys -------------------------------------------------------


def method(pem_text: str, key_id: str = "") -> Any:
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", data()))
    return build_method(Context(spec=spec, values={
        "client_id": CLIENT_ID, "private_key": pem_text, "key_id": key_id}))


@pytest.mark.parametrize("key, alg", [(RSA_KEY, "RS256"), (EC_KEY, "ES256")])
def test_the_assertion_names_the_client_and_the_token_endpoint(key, alg):
    params = method(pem(key), "k1").client_auth()
    assert params["client_assertion_type"] == ASSERTION_TYPE and params["include_client_id"]
    token = jwt.decode(params["client_assertion"], import_key(public_pem(key), "RSA" if
                       alg == "RS256" else "EC"), algorithms=[alg])
    assert token.header == {"alg": alg, "kid": "k1", "typ": "JWT"}
    claims = token.claims
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == f"{STAND_IN}/oauth/token"
    assert claims["exp"] - claims["iat"] == 300 and len(claims["jti"]) >= 32
    second = jwt.decode(method(pem(key)).client_auth()["client_assertion"],
                        import_key(public_pem(key), "RSA" if alg == "RS256" else "EC"),
                        algorithms=[alg])
    assert second.claims["jti"] != claims["jti"]  # a new assertion for every request


def test_a_pem_pasted_on_one_line_still_signs():
    """A password input drops the line breaks of a pasted PEM."""
    one_line = " ".join(pem(RSA_KEY).split("\n"))
    assert "\n" not in one_line.strip()
    assert method(one_line).client_auth()["client_assertion"].count(".") == 2


@pytest.mark.parametrize("bad", [
    "not a key",
    "-----BEGIN PRIVATE KEY-----\nZmFrZQ==\n-----END PRIVATE KEY-----\n",
    pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # too short
    pem(ec.generate_private_key(ec.SECP384R1())),                        # another curve
    public_pem(RSA_KEY),                                                 # not private
])
def test_a_key_that_cannot_sign_is_a_configuration_error_without_the_key(bad):
    with pytest.raises(AuthError) as caught:
        method(bad).client_auth()
    assert caught.value.kind == ErrorKind.CONFIGURATION
    assert "The private key cannot be used" in caught.value.message
    assert "MII" not in caught.value.message and "ZmFrZQ" not in caught.value.message  # no key


def test_private_key_jwt_needs_a_secret_partner_level_private_key():
    refused = data()
    refused["fields"][1]["secret"] = False
    with pytest.raises(CatalogError) as caught:
        validate("t.toml", "t", refused)
    assert "fields" in str(caught.value) and "private_key" in str(caught.value)
    api_key = {"name": "K", "description": "K.", "auth": {
        "type": "api_key", "header": "X-Key", "token_auth": "private_key_jwt"},
        "fields": [{"key": "api_key", "label": "Key", "level": "account", "secret": True}]}
    with pytest.raises(CatalogError) as caught:
        validate("t.toml", "t", api_key)
    assert "auth.token_auth" in str(caught.value)


# --- the partner-level key checked when Authentication Settings are saved -------------


SETTINGS = "/api/v1/connectors/authlib-jwt/settings"


@pytest.mark.parametrize("bad, words", [
    ("fake-not-a-pem", "PEM format"),
    (pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "at least 2048"),
    (pem(ec.generate_private_key(ec.SECP384R1())), "P-256"),
    (public_pem(RSA_KEY), "not a private key"),
])
def test_settings_refuse_a_key_that_cannot_sign_and_save_nothing(api, connector, bad, words):
    from connectors.models import PartnerAuthSettings

    events_before = AuditEvent.objects.count()
    code, problem = call(api, "put", SETTINGS, {"values": {
        "client_id": CLIENT_ID, "private_key": bad}})
    assert code == 422 and words in problem["errors"]["values.private_key"][0], problem
    assert bad.strip().splitlines()[-2 if "\n" in bad.strip() else 0] not in json.dumps(problem)
    assert not PartnerAuthSettings.objects.exists()
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("key", [RSA_KEY, EC_KEY])
def test_settings_keep_a_good_key_as_a_clean_pem(api, connector, key):
    from connectors.models import PartnerAuthSettings

    one_line = pem(key).replace("\n", " ")  # pasted into a one-line input
    code, body = call(api, "put", SETTINGS, {"values": {
        "client_id": CLIENT_ID, "private_key": one_line}})
    assert code == 200 and body["secrets_set"] == ["private_key"], body
    assert PartnerAuthSettings.objects.get().secret_values == {"private_key": pem(key)}
    assert pem(key).splitlines()[1] not in json.dumps(body)
