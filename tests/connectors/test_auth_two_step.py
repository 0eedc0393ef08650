"""`type = "two_step"` (issue 21 §1): entered credentials exchanged for a short-lived token.

The catalogue rules name the refused key; the sandbox's Tableau-style sign-in serves an
install through the API end to end (exchange, verify, credentials, proxy, renewal by the
worker); a refused exchange asks for reauthentication and a fault is "Refresh failing";
the entered secret and the token appear in no audit event or log line.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from audit.models import AuditEvent
from connectors.auth import build_method
from connectors.auth.base import Context, InvalidGrant, TransientError
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from installs import refresh
from installs.models import Install
from sandbox import services as sandbox
from sandbox.models import SandboxUser
from tests.api.helpers import bearer, call, make_key
from tests.factories import catalogue_connector, catalogue_refusal
from tests.fake_provider import FakeProvider, install_fake
from tests.installs.conftest import worker_pass

pytestmark = pytest.mark.django_db

NAME, SECRET = "sandy", "fake-pat-secret-123"
CREATE = "/api/v1/accounts/cust-1/installs"
BASE = "https://eu.provider.localhost"


def spec_data(**auth: Any) -> dict[str, Any]:
    return {
        "name": "Tableau-ish", "description": "Two-step.",
        "auth": {"type": "two_step", "token_url": "https://{pod}.provider.localhost/api/auth/signin",
                 "token_request": {"method": "POST", "body_format": "json",
                                   "body": {"name": "{pat_name}", "secret": "{pat_secret}"},
                                   "headers": {"Accept": "application/json"}},
                 "token_path": "credentials.token", "expires_in_path": "expires_in",
                 "default_expires_in": 3600, "token_header": "X-Tableau-Auth",
                 "token_prefix": "", **auth},
        "fields": [{"key": "pod", "label": "Pod", "level": "account"},
                   {"key": "pat_name", "label": "PAT name", "level": "account"},
                   {"key": "pat_secret", "label": "PAT secret", "level": "account",
                    "secret": True}],
    }


# --- the catalogue rules ---------------------------------------------------------------


def test_the_issues_example_is_accepted():
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", spec_data()))
    assert spec.auth.token_request.body == {"name": "{pat_name}", "secret": "{pat_secret}"}
    assert spec.auth.token_header == "X-Tableau-Auth" and spec.auth.token_prefix == ""


def test_an_undeclared_placeholder_in_the_body_is_refused():
    data = spec_data()
    data["auth"]["token_request"]["body"]["site"] = "{site_name}"
    message = catalogue_refusal(data)
    assert "auth.token_request.body.site" in message and "{site_name}" in message


def test_an_undeclared_placeholder_in_a_header_is_refused():
    data = spec_data()
    data["auth"]["token_request"]["headers"]["X-Site"] = "{nope}"
    assert "auth.token_request.headers.X-Site" in catalogue_refusal(data)


def test_an_undeclared_placeholder_deep_in_a_json_body_is_refused():
    data = spec_data()
    data["auth"]["token_request"]["body"] = {"credentials": {"site": {"contentUrl": "{x}"}}}
    assert "auth.token_request.body.credentials.site.contentUrl" in catalogue_refusal(data)


def test_a_form_body_with_an_object_is_refused():
    data = spec_data()
    data["auth"]["token_request"].update(body_format="form", body={"a": {"b": "c"}})
    assert "auth.token_request.body" in catalogue_refusal(data)


def test_an_http_token_url_is_refused():
    message = catalogue_refusal(spec_data(token_url="http://{pod}.provider.localhost/api/auth/signin"))
    assert "auth.token_url" in message and "https" in message


def test_a_missing_token_path_is_refused():
    data = spec_data()
    del data["auth"]["token_path"]
    assert "auth.token_path" in catalogue_refusal(data)


def test_a_transport_header_cannot_carry_the_token():
    assert "auth.token_header" in catalogue_refusal(spec_data(token_header="Host"))


def test_two_step_keys_do_not_apply_to_other_types():
    data = spec_data()
    data["auth"] = {"type": "oauth2_client_credentials", "token_url": f"{BASE}/t",
                    "token_path": "a.b"}
    data["fields"] = [{"key": "client_id", "label": "Client"},
                      {"key": "client_secret", "label": "Secret", "secret": True}]
    assert "auth.token_path" in catalogue_refusal(data)


# --- the method against a fake provider -----------------------------------------------


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def method(**auth: Any) -> Any:
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", spec_data(**auth)))
    return build_method(Context(spec=spec, values={
        "pod": "eu", "pat_name": NAME, "pat_secret": SECRET}))


def test_the_exchange_sends_the_declared_body_and_reads_the_dotted_path(fake):
    fake.add("POST", f"{BASE}/api/auth/signin",
             json_body={"credentials": {"token": "fake-session"}, "expires_in": 600})
    credentials = method().complete(None, {})
    [sent] = fake.calls
    assert json.loads(sent.body) == {"name": NAME, "secret": SECRET}
    assert fake.header(sent, "Accept") == "application/json"
    assert credentials.data == {"access_token": "fake-session"}
    assert credentials.expires_at is not None
    assert 590 <= (credentials.expires_at - timezone.now()).total_seconds() <= 600
    session = method().session(credentials.data)
    assert session.headers["X-Tableau-Auth"] == "fake-session"


def test_a_nested_json_body_and_a_captured_value(fake):
    """Tableau's shape: credentials nested in the body, the site id kept from the answer."""
    fake.add("POST", f"{BASE}/api/auth/signin", json_body={
        "credentials": {"token": "tok", "site": {"id": "9a8b-7c6d"}}, "expires_in": 600})
    data = spec_data()
    data["auth"]["token_request"]["body"] = {"credentials": {
        "personalAccessTokenName": "{pat_name}", "personalAccessTokenSecret": "{pat_secret}",
        "site": {"contentUrl": "{site}"}}}
    data["fields"].append({"key": "site", "label": "Site", "level": "account", "required": False})
    data["fields"].append({"key": "site_id", "label": "Site", "level": "captured",
                           "from": "token.credentials.site.id", "pattern": "^[a-z0-9-]+$"})
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", data))
    credentials = build_method(Context(spec=spec, values={
        "pod": "eu", "pat_name": NAME, "pat_secret": SECRET})).complete(None, {})
    assert json.loads(fake.calls[0].body) == {"credentials": {
        "personalAccessTokenName": NAME, "personalAccessTokenSecret": SECRET,
        "site": {"contentUrl": ""}}}
    assert credentials.captured == {"site_id": "9a8b-7c6d"}


SITE_FIELD = {"key": "site_id", "label": "Site", "level": "captured", "pattern": "^[a-z0-9-]+$"}


def test_captures_keeps_a_value_from_the_answer(fake):
    """The issue's `captures = { site_id = "credentials.site.id" }`: no `from` needed."""
    fake.add("POST", f"{BASE}/api/auth/signin", json_body={
        "credentials": {"token": "tok", "site": {"id": "9a8b-7c6d"}}})
    data = spec_data(captures={"site_id": "credentials.site.id"})
    data["fields"].append(SITE_FIELD)
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", data))
    credentials = build_method(Context(spec=spec, values={
        "pod": "eu", "pat_name": NAME, "pat_secret": SECRET})).complete(None, {})
    assert credentials.captured == {"site_id": "9a8b-7c6d"}


def test_captures_must_name_a_captured_field():
    data = spec_data(captures={"pat_name": "credentials.site.id"})
    assert "auth.captures.pat_name" in catalogue_refusal(data)


def test_a_captured_field_still_needs_a_source():
    data = spec_data()
    data["fields"].append(SITE_FIELD)
    message = catalogue_refusal(data)
    assert "fields[3].from" in message and "is required" in message


def test_form_body_default_expiry_and_bearer_default(fake):
    fake.add("POST", f"{BASE}/api/auth/signin", json_body={"credentials": {"token": "tok"}})
    data = spec_data()
    data["auth"]["token_request"]["body_format"] = "form"
    del data["auth"]["token_header"], data["auth"]["token_prefix"], data["auth"]["expires_in_path"]
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", data))
    two_step = build_method(Context(spec=spec, values={
        "pod": "eu", "pat_name": NAME, "pat_secret": SECRET}))
    credentials = two_step.complete(None, {})
    assert fake.form(fake.calls[0]) == {"name": NAME, "secret": SECRET}
    assert credentials.expires_at is not None
    assert (credentials.expires_at - timezone.now()).total_seconds() > 3500
    assert two_step.session(credentials.data).headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize("status, error", [
    (400, InvalidGrant), (401, InvalidGrant), (403, InvalidGrant),
    (500, TransientError), (429, TransientError)])
def test_a_refusal_is_invalid_grant_and_an_outage_transient(fake, status, error):
    fake.add("POST", f"{BASE}/api/auth/signin", status=status, json_body={"error": "x"})
    with pytest.raises(error) as caught:
        method().refresh({"access_token": "old"})
    assert SECRET not in caught.value.message


@pytest.mark.parametrize("body", [{"credentials": {}}, {"credentials": {"token": "a\r\nb"}},
                                  ["not", "an", "object"]])
def test_an_answer_without_a_usable_token_is_transient_on_refresh(fake, body):
    fake.add("POST", f"{BASE}/api/auth/signin", json_body=body)
    with pytest.raises(TransientError):
        method().refresh({"access_token": "old"})


# --- end to end against the sandbox -----------------------------------------------------


@pytest.fixture
def api(partner):
    cache.clear()  # untouched rate counters
    return bearer(make_key(partner)[1])


@pytest.fixture
def account(partner, sandbox_transport):
    from accounts.models import Account

    catalogue_connector("sandbox-two-step")
    sandbox.create_user(username=NAME, password="fake-password-123", api_key=SECRET)
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def installed(api, account) -> Install:
    code, body = call(api, "post", CREATE, {
        "connector": "sandbox-two-step", "name": "Reports",
        "values": {"pat_name": NAME, "pat_secret": SECRET}})
    assert code == 201 and body["status"] == "authenticated", body
    assert SECRET not in json.dumps(body)
    return Install.objects.get()


def test_api_install_exchanges_and_stores_the_token(installed, sandbox_transport):
    token = installed.credentials["access_token"]
    assert sandbox.two_step_user(token) == SandboxUser.objects.get(username=NAME)
    assert set(installed.credentials) == {"access_token"}
    assert installed.secret_values == {"pat_secret": SECRET}  # encrypted, kept to renew
    assert installed.expires_at is not None


def test_credentials_and_proxy_carry_the_token(api, installed):
    code, body = call(api, "get", f"/api/v1/installs/{installed.pk}/credentials")
    assert code == 200 and body["credentials"] == {
        "access_token": installed.credentials["access_token"]}
    response = api.get(f"/api/v1/proxy/{installed.pk}/me")
    assert response.status_code == 200
    answer = json.loads(b"".join(response.streaming_content))
    assert answer["auth"] == "two_step" and answer["username"] == NAME


def make_due(install: Install) -> None:
    Install.objects.filter(pk=install.pk).update(
        expires_at=timezone.now() + timedelta(seconds=30), next_refresh_at=None)


def test_the_worker_exchanges_again_before_expiry(installed):
    old = installed.credentials["access_token"]
    make_due(installed)
    assert worker_pass() == refresh.REFRESHED
    installed.refresh_from_db()
    assert installed.credentials["access_token"] != old
    assert sandbox.two_step_user(installed.credentials["access_token"]) is not None
    assert installed.expires_at and installed.expires_at > timezone.now() + timedelta(minutes=50)


def test_a_refused_exchange_requires_reauthentication(installed):
    SandboxUser.objects.filter(username=NAME).update(api_key_hash="revoked")
    make_due(installed)
    assert worker_pass() == refresh.REAUTH_REQUIRED
    installed.refresh_from_db()
    assert installed.status == Install.Status.REAUTH_REQUIRED


def test_a_500_at_exchange_is_refresh_failing(installed, monkeypatch, settings):
    fake = install_fake(monkeypatch)
    fake.add("POST", f"{settings.PUBLIC_URL}/sandbox/two-step/signin", status=500, text="boom")
    before = dict(installed.credentials)
    make_due(installed)
    assert worker_pass() == refresh.FAILING
    installed.refresh_from_db()
    assert installed.status == Install.Status.REFRESH_FAILING
    assert installed.credentials == before


def test_no_secret_or_token_in_audit_or_log(api, account, caplog):
    caplog.set_level(logging.DEBUG)
    code, _ = call(api, "post", CREATE, {"connector": "sandbox-two-step", "name": "Reports",
                                         "values": {"pat_name": NAME, "pat_secret": SECRET}})
    assert code == 201
    install = Install.objects.get()
    make_due(install)
    assert worker_pass() == refresh.REFRESHED
    install.refresh_from_db()
    token = install.credentials["access_token"]
    events = json.dumps([e.detail for e in AuditEvent.objects.all()], default=str)
    for secret in (SECRET, token):
        assert secret not in events
        assert secret not in caplog.text
