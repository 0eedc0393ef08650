"""`type = "app_installation"` (issue 21 §4), the method on its own: the catalogue rules,
the private key check, the app JWT's claims, the callback's refusals and the exchange's
answers (a fake provider). End to end against the sandbox: tests/installs/
test_sign_in_app_installation.py."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import RSAKey

from connectors.auth import build_method
from connectors.auth.base import (
    AuthError,
    Context,
    ErrorKind,
    InvalidCallback,
    InvalidGrant,
    TransientError,
)
from connectors.auth.keys import KeyProblem, load_private_key
from connectors.schema import ConnectorSpec
from connectors.spec import CATALOG_DIR, load_file, validate
from installs.forms import InstallForm
from tests.factories import catalogue_refusal, make_connector
from tests.fake_provider import FakeProvider, install_fake

API = "https://api.provider.localhost"
TOKENS = f"{API}/app/installations/42/access_tokens"
REVOKE = f"{API}/installation/token"


def pem(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
        password: bytes | None = None) -> str:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY = pem(RSA_KEY)


def spec_data(**auth: Any) -> dict[str, Any]:
    return {
        "name": "App-ish", "description": "An app installation.",
        "auth": {"type": "app_installation",
                 "install_url": "https://provider.localhost/apps/{app_slug}/installations/new",
                 "access_token_url": f"{API}/app/installations/{{installation_id}}/access_tokens",
                 "revoke_url": REVOKE, "default_expires_in": 3600, **auth},
        "api": {"base_url": API, "verify": "GET /installation/repositories"},
        "fields": [
            {"key": "app_id", "label": "App ID", "pattern": "^[0-9]+$"},
            {"key": "app_slug", "label": "App slug", "pattern": "^[a-z0-9-]+$"},
            {"key": "private_key", "label": "Private key", "secret": True},
            {"key": "installation_id", "label": "Installation", "level": "captured",
             "from": "callback.installation_id", "pattern": "^[1-9][0-9]{0,19}$"}],
    }


def method(values: dict[str, str] | None = None, **auth: Any) -> Any:
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", spec_data(**auth)))
    return build_method(Context(spec=spec, values={
        "app_id": "1234", "app_slug": "my-app", "private_key": PRIVATE_KEY, **(values or {})},
        callback_url="https://hatchway.localhost/connectors/t/callback"))


# --- the catalogue rules ---------------------------------------------------------------


def test_the_example_is_accepted():
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", spec_data()))
    assert spec.auth.install_url.endswith("/apps/{app_slug}/installations/new")


def test_install_url_and_access_token_url_are_required():
    data = spec_data()
    del data["auth"]["install_url"]
    assert "auth.install_url" in catalogue_refusal(data)
    data = spec_data()
    del data["auth"]["access_token_url"]
    assert "auth.access_token_url" in catalogue_refusal(data)


def test_the_private_key_must_be_a_partner_secret():
    data = spec_data()
    data["fields"][2]["secret"] = False
    assert "fields[2].secret" in catalogue_refusal(data)
    data["fields"][2].update(secret=True, level="account")
    assert "fields[2].level" in catalogue_refusal(data)


@pytest.mark.parametrize("where, key", [
    ("api", "headers"), ("auth", "install_url"), ("auth", "access_token_url")])
def test_no_header_or_url_may_carry_the_private_key(where, key):
    data = spec_data()
    if key == "headers":
        data["api"]["headers"] = {"X-Key": "{private_key}"}
    else:
        data["auth"][key] = f"{API}/{{private_key}}/{{installation_id}}"
    message = catalogue_refusal(data)
    assert f"{where}.{key}" in message and "the key only signs" in message


def test_the_installation_id_is_captured_from_the_callback():
    data = spec_data()
    data["fields"][3]["from"] = "token.installation_id"
    assert "fields[3].from" in catalogue_refusal(data)
    data = spec_data()
    del data["fields"][3]
    message = catalogue_refusal(data)
    assert "fields" in message and "installation_id" in message


def test_install_url_does_not_apply_to_other_types():
    data = spec_data()
    data["auth"] = {"type": "oauth2", "authorize_url": f"{API}/a", "token_url": f"{API}/t",
                    "install_url": f"{API}/i"}
    data["fields"] = [{"key": "client_id", "label": "Client"}]
    assert "auth.install_url" in catalogue_refusal(data)


# --- the private key ---------------------------------------------------------------------


def test_pkcs1_and_pkcs8_rsa_keys_are_read():
    """GitHub hands out PKCS#1 (`RSA PRIVATE KEY`); PKCS#8 is read too (connectors/auth/keys.py,
    shared with jwt_bearer)."""
    assert load_private_key(PRIVATE_KEY, "RS256").startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_private_key(pem(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL),
                            "RS256").startswith(b"-----BEGIN RSA PRIVATE KEY-----")


@pytest.mark.parametrize("value, words", [
    ("not a key", "in PEM format"),
    ("-----BEGIN PRIVATE KEY-----\nZmFrZQ==\n-----END PRIVATE KEY-----", "could not be read"),
    (pem(ec.generate_private_key(ec.SECP256R1())), "needs an RSA private key"),
    (pem(RSA_KEY, password=b"fake-passphrase"), "passphrase"),
    (pem(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL, password=b"fake-passphrase"),
     "passphrase"),
    (pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "1024 bits"),
    ("-----BEGIN PRIVATE KEY-----\n" + "A" * 9000, "too long"),
])
def test_unusable_keys_are_refused_with_a_clear_message(value, words):
    """app_installation signs RS256: the shared key check refuses what GitHub cannot use."""
    with pytest.raises(KeyProblem) as caught:
        load_private_key(value, "RS256")
    assert words in caught.value.message
    assert "MII" not in caught.value.message  # never quotes the key


def test_a_bad_saved_key_is_a_configuration_error_not_a_500():
    with pytest.raises(AuthError) as caught:
        method({"private_key": "garbage"}).app_jwt()
    assert caught.value.kind == ErrorKind.CONFIGURATION


# --- the app JWT -------------------------------------------------------------------------


def test_the_app_jwt_follows_githubs_rules():
    """RS256, iss = the app id, iat 60 s in the past, exp at most 10 minutes ahead."""
    token = method().app_jwt()
    public = RSAKey.import_key(RSA_KEY.public_key())
    decoded = jwt.decode(token, public, algorithms=["RS256"])
    now = int(time.time())
    assert decoded.header["alg"] == "RS256"
    assert decoded.claims["iss"] == "1234"
    assert now - 62 <= decoded.claims["iat"] <= now - 58
    assert now < decoded.claims["exp"] <= now + 600


# --- the callback ------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"installation_id": "abc"}, {"installation_id": "0"},
                                    {"installation_id": "12 3"}, {"installation_id": "1" * 21},
                                    {"installation_id": "-5"}])
def test_a_missing_or_non_numeric_installation_id_is_a_bad_callback(params):
    with pytest.raises(InvalidCallback):
        method().complete(None, params)


def test_an_install_awaiting_approval_says_so():
    with pytest.raises(AuthError) as caught:
        method().complete(None, {"setup_action": "request"})
    assert "approval" in caught.value.message


def test_begin_sends_the_customer_to_the_install_page_with_the_state():
    class Attempt:
        state = "fake-state-123"

    url = method().begin(Attempt())
    assert url == "https://provider.localhost/apps/my-app/installations/new?state=fake-state-123"


# --- the exchange against a fake provider ----------------------------------------------


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def test_complete_exchanges_the_app_jwt_for_an_installation_token(fake):
    expires = (timezone.now() + timedelta(minutes=59)).replace(microsecond=0)
    fake.add("POST", TOKENS, status=201, json_body={
        "token": "ghs_fake-installation-token", "expires_at": expires.isoformat()})
    credentials = method().complete(None, {"installation_id": "42", "setup_action": "install"})
    [sent] = fake.calls
    assert fake.header(sent, "Accept") == "application/vnd.github+json"
    scheme, _, app_jwt = fake.header(sent, "Authorization").partition(" ")
    assert scheme == "Bearer"
    assert jwt.decode(app_jwt, RSAKey.import_key(RSA_KEY.public_key())).claims["iss"] == "1234"
    assert credentials.data == {"access_token": "ghs_fake-installation-token"}
    assert credentials.expires_at == expires
    assert credentials.captured == {"installation_id": "42"}


@pytest.mark.parametrize("answer", [{"token": "ghs_x"}, {"token": "ghs_x", "expires_at": "soon"},
                                    {"token": "ghs_x", "expires_at": "2001-01-01T00:00:00Z"}])
def test_an_unusable_expires_at_falls_back_to_the_default_lifetime(fake, answer):
    fake.add("POST", TOKENS, status=201, json_body=answer)
    credentials = method({"installation_id": "42"}).refresh({})
    assert credentials.expires_at is not None
    assert 3590 <= (credentials.expires_at - timezone.now()).total_seconds() <= 3600


@pytest.mark.parametrize("status", [401, 404])
def test_401_or_404_means_the_app_was_uninstalled(fake, status):
    fake.add("POST", TOKENS, status=status, json_body={"message": "Not Found"})
    with pytest.raises(InvalidGrant) as caught:
        method({"installation_id": "42"}).refresh({"access_token": "ghs_old"})
    assert "uninstalled" in caught.value.message


@pytest.mark.parametrize("canned", [
    {"status": 500, "text": "boom"}, {"status": 503, "text": ""}, {"status": 429, "text": ""},
    {"raises": requests.Timeout()}, {"status": 201, "json_body": {"no": "token"}},
    {"status": 201, "text": "<html>"}, {"status": 403, "json_body": {"message": "rate"}}])
def test_outages_and_odd_answers_are_transient_on_refresh(fake, canned):
    fake.add("POST", TOKENS, **canned)
    with pytest.raises(TransientError):
        method({"installation_id": "42"}).refresh({"access_token": "ghs_old"})


def test_refresh_without_an_installation_id_requires_reauthentication(fake):
    with pytest.raises(InvalidGrant):
        method().refresh({"access_token": "ghs_old"})
    assert not fake.calls


def test_revocation_deletes_with_the_installation_token(fake):
    fake.add("DELETE", REVOKE, status=204)
    method().revoke({"access_token": "ghs_fake-token"})
    [sent] = fake.calls
    assert sent.method == "DELETE"
    assert fake.header(sent, "Authorization") == "Bearer ghs_fake-token"


def test_revoking_a_token_that_no_longer_works_is_done(fake):
    fake.add("DELETE", REVOKE, status=401)
    method().revoke({"access_token": "ghs_expired"})


@pytest.mark.parametrize("status, error", [(500, TransientError), (403, AuthError)])
def test_revocation_failures(fake, status, error):
    fake.add("DELETE", REVOKE, status=status)
    with pytest.raises(error):
        method().revoke({"access_token": "ghs_fake-token"})


def test_api_calls_carry_the_installation_token():
    session = method().session({"access_token": "ghs_fake-token"})
    assert session.headers["Authorization"] == "Bearer ghs_fake-token"


# --- the installer check (GitHub's warning about a spoofed installation_id) ----------------

USER_TOKEN_URL = "https://provider.localhost/login/oauth/access_token"
USER_INSTALLATIONS = f"{API}/user/installations"
CLIENT_FIELDS = [{"key": "client_id", "label": "Client ID"},
                 {"key": "client_secret", "label": "Client secret", "secret": True}]


def checked_data() -> dict[str, Any]:
    data = spec_data(installer_token_url=USER_TOKEN_URL,
                     installer_installations_url=USER_INSTALLATIONS)
    data["fields"] += [dict(f) for f in CLIENT_FIELDS]
    return data


def checking_method() -> Any:
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", checked_data()))
    return build_method(Context(spec=spec, values={
        "app_id": "1234", "app_slug": "my-app", "private_key": PRIVATE_KEY,
        "client_id": "fake-client-id", "client_secret": "fake-client-secret-123"}))


def test_the_installer_check_needs_both_urls_and_the_client_fields():
    data = checked_data()
    del data["auth"]["installer_installations_url"]
    assert "auth.installer_installations_url" in catalogue_refusal(data)
    data = checked_data()
    data["fields"] = data["fields"][:-1]
    assert "client_secret" in catalogue_refusal(data)
    data = checked_data()
    data["fields"][-1]["secret"] = False
    assert "client_secret" in catalogue_refusal(data)


def test_the_installation_must_be_the_installers(fake):
    fake.add("POST", USER_TOKEN_URL, json_body={"access_token": "fake-user-token"})
    fake.add("GET", USER_INSTALLATIONS, json_body={"installations": [{"id": 7}, {"id": 8}]})
    with pytest.raises(InvalidCallback) as caught:
        checking_method().complete(None, {"installation_id": "42", "code": "fake-code"})
    assert "not one the person who installed the app can access" in caught.value.message
    token_request, listing = fake.calls
    assert fake.form(token_request) == {"client_id": "fake-client-id",
                                        "client_secret": "fake-client-secret-123",
                                        "code": "fake-code"}
    assert fake.header(listing, "Authorization") == "Bearer fake-user-token"
    assert not fake.calls_to(TOKENS)  # no installation token was bought


def test_the_installers_installation_is_accepted(fake):
    fake.add("POST", USER_TOKEN_URL, json_body={"access_token": "fake-user-token"})
    fake.add("GET", USER_INSTALLATIONS, json_body={"installations": [{"id": 42}]})
    fake.add("POST", TOKENS, status=201, json_body={"token": "ghs_fake"})
    credentials = checking_method().complete(None, {"installation_id": "42", "code": "c"})
    assert credentials.data == {"access_token": "ghs_fake"}


@pytest.mark.parametrize("token_answer, listing, error", [
    ({"error": "bad_verification_code"}, None, AuthError),
    ({"access_token": "t"}, {"installations": "nope"}, AuthError),
    ({"access_token": "t"}, {"installations": [{"id": True}, {"id": "42"}]}, InvalidCallback),
])
def test_a_failed_installer_check_stops_the_sign_in(fake, token_answer, listing, error):
    fake.add("POST", USER_TOKEN_URL, json_body=token_answer)
    if listing is not None:
        fake.add("GET", USER_INSTALLATIONS, json_body=listing)
    with pytest.raises(error):
        checking_method().complete(None, {"installation_id": "42", "code": "c"})
    assert not fake.calls_to(TOKENS)


def test_no_code_means_no_installer_check_possible(fake):
    with pytest.raises(InvalidCallback):
        checking_method().complete(None, {"installation_id": "42"})
    assert not fake.calls


# --- a customer-typed host: GitHub Enterprise Server ----------------------------------------

GHES = "https://ghes.acme.localhost"


def ghes_method() -> Any:
    """The catalogue's GitHub Enterprise Server entry, with the app's details entered at install."""
    slug, data = load_file(CATALOG_DIR / "github-enterprise-server-app.toml")
    return build_method(Context(spec=ConnectorSpec.from_data(slug, data), values={
        "base_url": GHES, "app_id": "1234", "app_slug": "acme-sync", "private_key": PRIVATE_KEY,
        "client_id": "fake-client-id", "client_secret": "fake-client-secret-123"}))


def test_a_customer_typed_host_starts_the_install_page():
    class Attempt:
        state = "fake-state-123"

    assert ghes_method().begin(Attempt()) == (
        f"{GHES}/github-apps/acme-sync/installations/new?state=fake-state-123")


def test_a_customer_typed_host_gets_the_installer_check_token_and_revocation(fake):
    fake.add("POST", f"{GHES}/login/oauth/access_token", json_body={"access_token": "fake-user"})
    fake.add("GET", f"{GHES}/api/v3/user/installations", json_body={"installations": [{"id": 42}]})
    fake.add("POST", f"{GHES}/api/v3/app/installations/42/access_tokens", status=201,
             json_body={"token": "ghs_fake"})
    fake.add("DELETE", f"{GHES}/api/v3/installation/token", status=204)
    method = ghes_method()
    credentials = method.complete(None, {"installation_id": "42", "code": "fake-code"})
    assert credentials.data == {"access_token": "ghs_fake"}
    assert credentials.captured == {"installation_id": "42"}
    method.revoke(credentials.data)
    assert [call.url.split("?")[0] for call in fake.calls] == [
        f"{GHES}/login/oauth/access_token", f"{GHES}/api/v3/user/installations",
        f"{GHES}/api/v3/app/installations/42/access_tokens", f"{GHES}/api/v3/installation/token"]


@pytest.mark.django_db
def test_an_enterprise_server_install_asks_for_the_app_the_partner_left_blank(partner):
    """Each GitHub Enterprise Server registers its own app: with the partner's settings blank,
    the install form asks for the server and the app's details, and checks the key."""
    slug, data = load_file(CATALOG_DIR / "github-enterprise-server-app.toml")
    connector = make_connector("ghes-app-test", data)
    entered = {"base_url": "https://ghes.localhost", "app_id": "1234", "app_slug": "acme-sync",
               "client_id": "fake-client-id", "client_secret": "fake-client-secret-123"}
    form = InstallForm({**entered, "private_key": PRIVATE_KEY}, connector=connector,
                       partner=partner, ask_name=False)
    assert {"base_url", "app_id", "app_slug", "private_key", "client_id",
            "client_secret"} <= set(form.fields)
    assert "installation_id" not in form.fields  # captured at sign-in
    assert form.is_valid(), form.errors
    refused = InstallForm({**entered, "private_key": "not a key"}, connector=connector,
                          partner=partner, ask_name=False)
    assert not refused.is_valid() and "private_key" in refused.errors
