"""`type = "jwt_bearer"` (issue 21 §2, RFC 7523 §2.1): a service account's signed
assertion buys an access token.

The catalogue rules name the refused key; private keys are refused on save when they are
unreadable or of the wrong kind (nothing saved); each token request carries a fresh
assertion (jti, iat, exp, kid); the sandbox's JWT-bearer grant serves an install through
the API end to end (token, verify, credentials, proxy, renewal by the worker); a refused
grant asks for reauthentication and an outage is "Refresh failing"; the key and the
assertions appear in no answer, audit event, webhook or log line.
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from accounts.models import Account
from audit.models import AuditEvent
from connectors.auth import build_method
from connectors.auth.base import AuthError, Context, ErrorKind, InvalidGrant, TransientError
from connectors.auth.keys import KeyProblem, load_private_key
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from installs import refresh
from installs.models import Install
from sandbox import services as sandbox
from sandbox.models import SandboxToken
from tests.api.helpers import bearer, call, make_key
from tests.connectors.jwt_keys import ec_key, pem, public_pem, rsa_key
from tests.factories import assert_nothing_written, catalogue_connector, catalogue_refusal
from tests.fake_provider import FakeProvider, install_fake
from tests.installs.conftest import worker_pass
from webhooks.models import WebhookEvent
from webhooks.relay import relay_pass
from webhooks.services import create_endpoint

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://oauth2.provider.localhost/token"
EMAIL = "robot@fake-project.iam.example"
CREATE = "/api/v1/accounts/cust-1/installs"


def spec_data(**auth: Any) -> dict[str, Any]:
    return {
        "name": "Service account", "description": "JWT bearer.",
        "auth": {"type": "jwt_bearer", "token_url": TOKEN_URL, "algorithm": "RS256",
                 "assertion_lifetime": 600,
                 "claims": {"iss": "{client_email}", "sub": "{subject}", "scope": "{scopes}"},
                 "scopes": ["https://provider.localhost/auth/drive.readonly"], **auth},
        "fields": [{"key": "client_email", "label": "Client email", "level": "account"},
                   {"key": "private_key", "label": "Private key", "level": "account",
                    "secret": True},
                   {"key": "key_id", "label": "Key ID", "level": "account", "required": False},
                   {"key": "subject", "label": "Subject", "level": "account",
                    "required": False}],
    }


# --- the catalogue rules ---------------------------------------------------------------


def test_the_issues_example_is_accepted():
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", spec_data(
        audience=TOKEN_URL, assertion_lifetime=3600)))
    assert spec.auth.algorithm == "RS256" and spec.auth.assertion_lifetime == 3600
    assert spec.auth.claims["iss"] == "{client_email}"


@pytest.mark.parametrize("claim", ["jti", "iat", "exp", "aud", "nbf"])
def test_claims_hatchway_sets_are_refused(claim):
    data = spec_data()
    data["auth"]["claims"][claim] = "x"
    message = catalogue_refusal(data)
    assert f"auth.claims.{claim}" in message and "set by Hatchway" in message


def test_an_assertion_needs_an_issuer():
    data = spec_data()
    del data["auth"]["claims"]["iss"]
    assert "auth.claims: needs an iss claim" in catalogue_refusal(data)


def test_an_undeclared_placeholder_in_a_claim_is_refused():
    data = spec_data()
    data["auth"]["claims"]["sub"] = "{user_email}"
    message = catalogue_refusal(data)
    assert "auth.claims.sub" in message and "{user_email}" in message


@pytest.mark.parametrize("where", ["claims", "api"])
def test_the_private_key_may_not_be_sent(where):
    data = spec_data()
    if where == "claims":
        data["auth"]["claims"]["sub"] = "{private_key}"
    else:
        data["api"] = {"base_url": "https://api.provider.localhost",
                       "headers": {"X-Key": "{private_key}"}}
    assert "may not use {private_key}" in catalogue_refusal(data)


def test_the_private_key_field_is_required_and_secret():
    data = spec_data()
    data["fields"][1]["secret"] = False
    assert "fields[1].secret: must be true" in catalogue_refusal(data)
    data["fields"].pop(1)
    assert "'private_key' is required" in catalogue_refusal(data)


def test_an_unknown_algorithm_and_an_overlong_assertion_are_refused():
    assert "auth.algorithm" in catalogue_refusal(spec_data(algorithm="HS256"))
    assert "auth.assertion_lifetime" in catalogue_refusal(spec_data(assertion_lifetime=7200))


def test_jwt_bearer_keys_do_not_apply_to_other_types():
    data = spec_data()
    data["auth"] = {"type": "two_step", "token_url": TOKEN_URL, "token_path": "token",
                    "claims": {"iss": "x"}}
    assert "auth.claims: does not apply to two_step" in catalogue_refusal(data)


# --- reading private keys --------------------------------------------------------------


def test_keys_in_the_shapes_people_paste_them_are_read():
    key = pem(rsa_key())
    assert load_private_key(key, "RS256") == load_private_key(key.replace("\n", "\\n"), "RS256")
    one_line = key.replace("\n", " ")  # an <input> drops the line breaks
    assert load_private_key(one_line, "RS256")
    assert load_private_key(pem(rsa_key(), traditional=True), "RS256")
    assert load_private_key(pem(ec_key()), "ES256")


@pytest.mark.parametrize("text, words", [
    ("not a key at all", "PEM format"),
    ("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----", "could not be read"),
    ("-----BEGIN PRIVATE KEY-----\n$$$\n-----END PRIVATE KEY-----", "damaged"),
    ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
     "passphrase"),
])
def test_malformed_keys_are_refused(text, words):
    with pytest.raises(KeyProblem) as caught:
        load_private_key(text, "RS256")
    assert words in caught.value.message


def test_a_public_key_is_not_a_private_key():
    with pytest.raises(KeyProblem) as caught:
        load_private_key(public_pem(rsa_key()), "RS256")
    assert caught.value.message == "This is a public key, not a private key."


@pytest.mark.parametrize("key, algorithm, words", [
    (lambda: ec_key(), "RS256", "needs an RSA private key; this is an EC key on secp256r1"),
    (lambda: rsa_key(), "ES256", "needs an EC private key on the P-256 curve; this is an RSA"),
    (lambda: ec_key("p384"), "ES256", "this is an EC key on secp384r1"),
    (lambda: rsa_key(1024), "RS256", "has 1024 bits; RS256 needs at least 2048"),
])
def test_a_key_of_the_wrong_kind_is_refused(key, algorithm, words):
    text = pem(key())
    with pytest.raises(KeyProblem) as caught:
        load_private_key(text, algorithm)
    assert words in caught.value.message and text not in caught.value.message


# --- the method against a fake provider -----------------------------------------------


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def method(values: dict[str, str] | None = None, **auth: Any) -> Any:
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", spec_data(**auth)))
    return build_method(Context(spec=spec, values=values or {
        "client_email": EMAIL, "private_key": pem(rsa_key()), "key_id": "fake-kid-1",
        "subject": "ada@customer.example"}))


def sent_assertion(fake: FakeProvider, index: int = 0, key: Any = None) -> tuple[dict, dict]:
    form = fake.form(fake.calls[index])
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    token = jwt.decode(form["assertion"], key or RSAKey.import_key(public_pem(rsa_key())),
                       algorithms=["RS256", "ES256"])
    return dict(token.header), dict(token.claims)


def test_each_token_request_carries_a_fresh_signed_assertion(fake):
    fake.add("POST", TOKEN_URL, json_body={"access_token": "fake-at-1", "token_type": "Bearer",
                                           "expires_in": 3599})
    fake.add("POST", TOKEN_URL, json_body={"access_token": "fake-at-2", "expires_in": 3599})
    service = method()
    credentials = service.complete(None, {})
    assert credentials.data == {"access_token": "fake-at-1", "token_type": "Bearer"}
    assert credentials.expires_at is not None
    assert 3590 <= (credentials.expires_at - timezone.now()).total_seconds() <= 3599
    header, claims = sent_assertion(fake)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "fake-kid-1"}
    assert claims["iss"] == EMAIL and claims["sub"] == "ada@customer.example"
    assert claims["scope"] == "https://provider.localhost/auth/drive.readonly"
    assert claims["aud"] == TOKEN_URL and claims["exp"] - claims["iat"] == 600
    assert abs(claims["iat"] - timezone.now().timestamp()) < 5
    assert "scope" not in fake.form(fake.calls[0])  # the claim carries the scopes
    service.refresh(credentials.data)
    _, again = sent_assertion(fake, 1)
    assert again["jti"] != claims["jti"]
    assert service.session({"access_token": "fake-at-2"}).headers["Authorization"] == (
        "Bearer fake-at-2")


def test_es256_an_audience_and_a_scope_parameter(fake):
    """ES256 keys sign; an empty optional claim is left out; with no {scopes} claim the
    scopes go in the token request's scope parameter (RFC 7523 §2.1)."""
    fake.add("POST", TOKEN_URL, json_body={"access_token": "fake-at"})
    service = method({"client_email": EMAIL, "private_key": pem(ec_key())},
                     algorithm="ES256", audience="https://login.provider.localhost",
                     claims={"iss": "{client_email}", "sub": "{subject}"})
    service.complete(None, {})
    header, claims = sent_assertion(fake, key=ECKey.import_key(public_pem(ec_key())))
    assert header == {"alg": "ES256", "typ": "JWT"}
    assert claims["aud"] == "https://login.provider.localhost" and "sub" not in claims
    assert fake.form(fake.calls[0])["scope"] == "https://provider.localhost/auth/drive.readonly"


def test_an_unusable_stored_key_is_a_configuration_error(fake):
    service = method({"client_email": EMAIL, "private_key": pem(ec_key())})
    with pytest.raises(AuthError) as caught:
        service.complete(None, {})
    assert caught.value.kind == ErrorKind.CONFIGURATION
    assert "needs an RSA private key" in caught.value.message
    assert not fake.calls


@pytest.mark.parametrize("status, error", [
    (400, InvalidGrant), (401, InvalidGrant), (500, TransientError), (503, TransientError),
    (429, TransientError)])
def test_a_refusal_is_invalid_grant_and_an_outage_transient(fake, status, error):
    fake.add("POST", TOKEN_URL, status=status, json_body={"error": "invalid_grant"})
    with pytest.raises(error) as caught:
        method().refresh({"access_token": "old"})
    if status == 400:
        assert "HTTP 400: invalid_grant" in caught.value.message


@pytest.mark.parametrize("body", [{"token_type": "Bearer"}, {"access_token": "a\r\nb"},
                                  ["not", "an", "object"]])
def test_an_answer_without_a_usable_token_is_transient_on_refresh(fake, body):
    fake.add("POST", TOKEN_URL, json_body=body)
    with pytest.raises(TransientError):
        method().refresh({"access_token": "old"})


# --- end to end against the sandbox -----------------------------------------------------


@pytest.fixture
def api(partner):
    cache.clear()  # untouched rate counters and jti memory
    return bearer(make_key(partner)[1])


@pytest.fixture
def account(partner, sandbox_transport):
    catalogue_connector("sandbox-jwt-bearer")
    sandbox.register_service_account(issuer=EMAIL, public_key=public_pem(rsa_key()),
                                     username="robot")
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


VALUES = {"client_email": EMAIL, "key_id": "fake-kid-1"}


def create(api: Any, **values: str) -> tuple[int, Any]:
    return call(api, "post", CREATE, {"connector": "sandbox-jwt-bearer", "name": "Robot",
                                      "values": {**VALUES, "private_key": pem(rsa_key()),
                                                 **values}})


@pytest.fixture
def installed(api, account) -> Install:
    code, body = create(api)
    assert code == 201 and body["status"] == "authenticated", body
    assert pem(rsa_key()) not in json.dumps(body)
    return Install.objects.get()


def test_api_install_signs_in_and_stores_the_key_encrypted(installed):
    token = installed.credentials["access_token"]
    row = SandboxToken.objects.get(grant_type="jwt_bearer")
    assert row.user is not None and row.user.username == "robot" and row.scope == "read"
    assert set(installed.credentials) == {"access_token", "token_type"} and token
    assert installed.secret_values == {"private_key": pem(rsa_key())}  # encrypted, kept to sign
    assert "private_key" not in installed.values
    assert installed.expires_at is not None


def test_credentials_verify_and_proxy_carry_the_token(api, installed):
    code, body = call(api, "get", f"/api/v1/installs/{installed.pk}/credentials")
    assert code == 200 and body["credentials"] == {
        "access_token": installed.credentials["access_token"], "token_type": "Bearer"}
    assert body["type"] == "jwt_bearer"
    code, body = call(api, "post", f"/api/v1/installs/{installed.pk}/verify")
    assert code == 200 and body["ok"] is True, body
    response = api.get(f"/api/v1/proxy/{installed.pk}/me")
    assert response.status_code == 200
    answer = json.loads(b"".join(response.streaming_content))
    assert answer["username"] == "robot"


def make_due(install: Install) -> None:
    Install.objects.filter(pk=install.pk).update(
        expires_at=timezone.now() + timedelta(seconds=30), next_refresh_at=None)


def test_the_worker_signs_a_new_assertion_before_expiry(installed):
    old = installed.credentials["access_token"]
    make_due(installed)
    assert worker_pass() == refresh.REFRESHED
    installed.refresh_from_db()
    assert installed.credentials["access_token"] != old
    assert SandboxToken.objects.filter(grant_type="jwt_bearer").count() == 2
    assert installed.expires_at and installed.expires_at > timezone.now() + timedelta(minutes=50)


def test_a_refused_grant_requires_reauthentication(installed):
    """The provider no longer accepts the key (another was registered): 400 invalid_grant."""
    sandbox.register_service_account(issuer=EMAIL, public_key=public_pem(rsa_key(3072)),
                                     username="robot")
    make_due(installed)
    assert worker_pass() == refresh.REAUTH_REQUIRED
    installed.refresh_from_db()
    assert installed.status == Install.Status.REAUTH_REQUIRED


def test_a_500_at_the_token_endpoint_is_refresh_failing(installed, monkeypatch, settings):
    fake = install_fake(monkeypatch)
    fake.add("POST", f"{settings.PUBLIC_URL}/sandbox/jwt-bearer/token", status=500, text="boom")
    before = dict(installed.credentials)
    make_due(installed)
    assert worker_pass() == refresh.FAILING
    installed.refresh_from_db()
    assert installed.status == Install.Status.REFRESH_FAILING
    assert installed.credentials == before


@pytest.mark.parametrize("key, words", [
    ("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----", "could not be read"),
    ("fake-not-a-pem", "PEM format"),
    (None, "needs an RSA private key"),
])
def test_a_bad_key_is_a_field_error_and_nothing_is_saved(api, account, partner, key, words):
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    events_before = AuditEvent.objects.count()
    text = key or pem(ec_key())
    code, problem = create(api, private_key=text)
    assert code == 400, problem
    [message] = problem["errors"]["values.private_key"]
    assert words in message and text not in json.dumps(problem)
    assert_nothing_written(events_before)
    assert not SandboxToken.objects.exists()


def test_the_console_form_refuses_a_bad_key_without_echoing_it(admin_client, account):
    text = pem(ec_key())
    url = reverse("accounts:install_new", args=[account.pk, "sandbox-jwt-bearer"])
    page = admin_client.get(url).content.decode()
    assert '<textarea name="private_key"' in page
    response = admin_client.post(url, {**VALUES, "private_key": text})
    assert response.status_code == 200
    page = response.content.decode()
    assert "needs an RSA private key" in page and text not in page
    assert not Install.objects.exists()


def test_no_key_or_assertion_in_answers_audit_webhooks_or_logs(api, account, partner, caplog,
                                                               sandbox_transport):
    caplog.set_level(logging.DEBUG)
    create_endpoint(partner=partner, url="https://hooks.example.com/hatchway")
    code, body = create(api)
    assert code == 201
    install = Install.objects.get()
    make_due(install)
    assert worker_pass() == refresh.REFRESHED
    relay_pass()
    assertions = [parse_qs(call.body)["assertion"][0] for call in sandbox_transport.calls
                  if call.url.endswith("/sandbox/jwt-bearer/token")]
    assert len(assertions) == 2
    events = json.dumps([e.detail for e in AuditEvent.objects.all()], default=str)
    deliveries = "".join(WebhookEvent.objects.values_list("body", flat=True))
    assert deliveries  # installed and refreshed were sent
    key_body = "".join(pem(rsa_key()).splitlines()[1:-1])[:60]
    for secret in (key_body, *assertions):
        for text in (events, deliveries, caplog.text, json.dumps(body)):
            assert secret not in text


# --- a pasted JSON key file (Google's service-account key) ------------------------------


def key_file(**changes: Any) -> str:
    """A service-account key file in Google's shape; only three of its keys are kept."""
    data = {"type": "service_account", "project_id": "fake-project-123",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": pem(rsa_key()), "client_email": EMAIL,
            "client_id": "100000000000000000001", "token_uri": "https://oauth2.googleapis.com/token"}
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None})


def test_a_key_file_must_fill_the_private_key_and_name_fields():
    data = spec_data(key_file={"client_email": "client_email"})
    assert "auth.key_file: must fill the private_key field" in catalogue_refusal(data)
    data = spec_data(key_file={"private_key": "private_key", "nope": "x"})
    assert "auth.key_file.nope: names no field" in catalogue_refusal(data)
    data = spec_data(key_file={"private_key": "private_key", "client_email": "client_email"})
    data["fields"][0]["level"] = "partner"
    assert "auth.key_file: fills fields of one level only" in catalogue_refusal(data)


def test_a_pasted_key_file_fills_the_fields_and_nothing_else_is_kept(api, account):
    code, body = call(api, "post", CREATE, {"connector": "sandbox-jwt-bearer", "name": "Robot",
                                            "values": {"key_file": key_file()}})
    assert code == 201 and body["status"] == "authenticated", body
    install = Install.objects.get()
    assert install.values == {"client_email": EMAIL,
                              "key_id": "0123456789abcdef0123456789abcdef01234567"}
    assert install.secret_values == {"private_key": pem(rsa_key())}
    stored = json.dumps([install.values, install.credentials, body], default=str)
    assert "fake-project-123" not in stored and "100000000000000000001" not in stored


@pytest.mark.parametrize("text, where, words", [
    ("{not json", "values.key_file", "not a JSON key file"),
    ("[1, 2]", "values.key_file", "not a JSON key file"),
    (None, "values.key_file", "has no private_key"),
    ("ec", "values.private_key", "needs an RSA private key"),
])
def test_a_bad_key_file_is_refused_without_quoting_it(api, account, text, where, words):
    if text is None:
        text = key_file(private_key=None)
    elif text == "ec":
        text = key_file(private_key=pem(ec_key()))
    events_before = AuditEvent.objects.count()
    code, problem = call(api, "post", CREATE, {"connector": "sandbox-jwt-bearer",
                                               "values": {"key_file": text}})
    assert code == 400, problem
    assert words in problem["errors"][where][0]
    assert "fake-project-123" not in json.dumps(problem)
    assert_nothing_written(events_before)


def test_the_console_offers_the_key_file_box(admin_client, account):
    url = reverse("accounts:install_new", args=[account.pk, "sandbox-jwt-bearer"])
    response = admin_client.post(url, {"key_file": key_file(private_key=pem(ec_key()))})
    page = response.content.decode()
    assert '<textarea name="key_file"' in page and "fake-project-123" not in page
    assert "needs an RSA private key" in page and not Install.objects.exists()
    admin_client.post(url, {"key_file": key_file()})
    assert Install.objects.get().status == Install.Status.AUTHENTICATED


# --- the Google Drive service-account entry ---------------------------------------------


def test_google_drive_service_account_entry(api, partner, monkeypatch):
    """The real entry against a fake Google: the documented claim set, then verify."""
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *args, **kwargs: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port or 0))])
    fake = install_fake(monkeypatch)
    catalogue_connector("google-service-account-drive")
    Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    fake.add("POST", "https://oauth2.googleapis.com/token", json_body={
        "access_token": "fake-ya29", "token_type": "Bearer", "expires_in": 3599})
    fake.add("GET", "https://www.googleapis.com/drive/v3/about",
             json_body={"user": {"emailAddress": EMAIL}})
    email = "drive-reader@fake-project-123.iam.gserviceaccount.com"
    code, body = call(api, "post", CREATE, {
        "connector": "google-service-account-drive",
        "values": {"key_file": key_file(client_email=email), "subject": "ada@customer.example"}})
    assert code == 201 and body["status"] == "authenticated", body.get("errors", body)
    header, claims = sent_assertion(fake)
    assert header["kid"] == "0123456789abcdef0123456789abcdef01234567"
    assert claims["iss"] == email and claims["sub"] == "ada@customer.example"
    assert claims["scope"] == "https://www.googleapis.com/auth/drive.readonly"
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    assert claims["exp"] - claims["iat"] == 3600
    assert fake.header(fake.calls[1], "Authorization") == "Bearer fake-ya29"


# --- a partner-level key in Authentication Settings (Salesforce's JWT bearer entry) -----


SF_SETTINGS = "/api/v1/connectors/salesforce-jwt/settings"


@pytest.mark.parametrize("key, words", [
    ("fake-not-a-pem", "PEM format"),
    (None, "needs an RSA private key"),
])
def test_settings_refuse_a_bad_key_and_save_nothing(api, partner, key, words):
    from connectors.models import PartnerAuthSettings

    catalogue_connector("salesforce-jwt")
    text = key or pem(ec_key())
    events_before = AuditEvent.objects.count()
    code, problem = call(api, "put", SF_SETTINGS, {"values": {
        "consumer_key": "fake-consumer-key", "private_key": text}})
    assert code == 422 and words in problem["errors"]["values.private_key"][0], problem
    assert text not in json.dumps(problem)
    assert not PartnerAuthSettings.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_settings_keep_a_good_key_encrypted_and_never_answer_it(api, admin_client, partner):
    from connectors.models import PartnerAuthSettings

    catalogue_connector("salesforce-jwt")
    one_line = pem(rsa_key()).replace("\n", " ")  # pasted into a one-line input
    code, body = call(api, "put", SF_SETTINGS, {"values": {
        "consumer_key": "fake-consumer-key", "private_key": one_line}})
    assert code == 200 and body["secrets_set"] == ["private_key"], body
    row = PartnerAuthSettings.objects.get()
    assert row.secret_values == {"private_key": pem(rsa_key())}  # kept as a clean PEM
    page = admin_client.get(reverse("connectors:settings", args=["salesforce-jwt"]))
    text = page.content.decode()
    assert '<textarea name="private_key"' in text
    for line in pem(rsa_key()).splitlines()[1:4]:
        assert line not in text and line not in json.dumps(body)
    response = admin_client.post(reverse("connectors:settings", args=["salesforce-jwt"]),
                                 {"consumer_key": "fake-consumer-key",
                                  "private_key": pem(ec_key())})
    assert "needs an RSA private key" in response.content.decode()
    assert pem(ec_key()).splitlines()[1] not in response.content.decode()
    row.refresh_from_db()
    assert row.secret_values == {"private_key": pem(rsa_key())}  # unchanged


def test_an_import_checks_the_key_and_takes_a_key_file(api, account):
    """Importing a service-account install (`credentials: {}`): the same checks, then the
    token is fetched with the key."""
    code, problem = call(api, "post", CREATE, {"connector": "sandbox-jwt-bearer", "credentials": {},
                                               "values": {**VALUES, "private_key": "fake-no-pem"}})
    assert code == 400 and "PEM format" in problem["errors"]["values.private_key"][0]
    assert not Install.objects.exists()
    code, body = call(api, "post", CREATE, {"connector": "sandbox-jwt-bearer", "credentials": {},
                                            "values": {"key_file": key_file()}})
    assert code == 201 and body["status"] == "authenticated", body
    assert Install.objects.get().secret_values == {"private_key": pem(rsa_key())}
