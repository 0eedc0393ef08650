"""API key, basic and no-auth methods: credentials from entered values, verify requests."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from connectors.auth import build_method
from connectors.auth.base import AuthError, AuthMethod, Context, TransientError
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from tests.fake_provider import FakeProvider, install_fake

BASE = "https://provider.localhost"
API_KEY = "fake-api-key-789"


def make_method(auth: dict[str, Any], fields: list[dict[str, Any]],
                values: dict[str, str]) -> AuthMethod:
    data = {"name": "Keyed", "description": "d", "auth": auth,
            "api": {"base_url": f"{BASE}/api", "verify": "GET /me"}, "fields": fields}
    spec = ConnectorSpec.from_data("keyed", validate("keyed.toml", "keyed", data))
    return build_method(Context(spec=spec, values=values))


KEY_FIELD = [{"key": "api_key", "label": "API key", "secret": True, "level": "account"}]
BASIC_FIELDS = [{"key": "username", "label": "Email", "level": "account"},
                {"key": "password", "label": "API token", "secret": True, "level": "account"}]


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


def test_api_key_in_a_header_with_prefix(fake):
    """header + prefix: the key goes in that header; verify passes on 200."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = make_method({"type": "api_key", "header": "Authorization", "prefix": "Token "},
                         KEY_FIELD, {"api_key": API_KEY})
    credentials = method.complete(None, {})
    method.verify(credentials.data)
    assert credentials.data == {"api_key": API_KEY}
    assert method.credential_keys == ("api_key",)
    assert fake.calls[0].headers["Authorization"] == f"Token {API_KEY}"


def test_api_key_as_a_query_parameter(fake):
    """query_param: the key rides on the query string."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = make_method({"type": "api_key", "query_param": "api_key"}, KEY_FIELD,
                         {"api_key": API_KEY})
    method.verify({"api_key": API_KEY})
    assert fake.calls[0].url == f"{BASE}/api/me?api_key={API_KEY}"


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_api_key_message(fake, status):
    """A wrong key: "The API key was rejected (HTTP 401)", with no key in it."""
    fake.add("GET", f"{BASE}/api/me", status=status)
    method = make_method({"type": "api_key", "header": "X-API-Key"}, KEY_FIELD,
                         {"api_key": API_KEY})
    with pytest.raises(AuthError) as caught:
        method.verify({"api_key": API_KEY})
    assert caught.value.message == f"The API key was rejected (HTTP {status})."
    assert caught.value.kind == "verify_failed"


def test_verify_outage_and_odd_status(fake):
    """5xx → TransientError; another non-2xx → a verify failure with its status."""
    method = make_method({"type": "api_key", "header": "X-API-Key"}, KEY_FIELD,
                         {"api_key": API_KEY})
    fake.add("GET", f"{BASE}/api/me", status=503)
    with pytest.raises(TransientError):
        method.verify({"api_key": API_KEY})
    fake.routes.clear()
    fake.add("GET", f"{BASE}/api/me", status=404)
    with pytest.raises(AuthError) as caught:
        method.verify({"api_key": API_KEY})
    assert caught.value.message == "The verify request failed (HTTP 404)."


def test_api_key_missing_value():
    """No key entered: a configuration error asking for it."""
    method = make_method({"type": "api_key", "header": "X-API-Key"}, KEY_FIELD, {})
    with pytest.raises(AuthError) as caught:
        method.complete(None, {})
    assert caught.value.kind == "configuration"


def test_basic_sends_the_user_name_and_password(fake):
    """Basic: credentials are the entered pair, sent as an Authorization: Basic header."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = make_method({"type": "basic"}, BASIC_FIELDS,
                         {"username": "ann@example.test", "password": "fake-password-1"})
    credentials = method.complete(None, {})
    method.verify(credentials.data)
    expected = base64.b64encode(b"ann@example.test:fake-password-1").decode()
    assert credentials.data == {"username": "ann@example.test", "password": "fake-password-1"}
    assert fake.calls[0].headers["Authorization"] == f"Basic {expected}"


def test_basic_rejection_message(fake):
    """A wrong password names the user name or password."""
    fake.add("GET", f"{BASE}/api/me", status=401)
    method = make_method({"type": "basic"}, BASIC_FIELDS,
                         {"username": "ann@example.test", "password": "fake-password-1"})
    with pytest.raises(AuthError) as caught:
        method.verify(method.complete(None, {}).data)
    assert caught.value.message == "The user name or password was rejected (HTTP 401)."


KEY_AS_USER_FIELDS = [{"key": "username", "label": "API key", "secret": True, "level": "account"},
                      {"key": "password", "label": "Password", "secret": True,
                       "level": "account", "required": False}]


def test_basic_with_an_optional_password_sends_the_key_and_a_blank_password(fake):
    """Ashby, Chargebee, Dropbox Sign: the key is the user name, the password is blank, as
    `username:` -- allowed because the catalogue makes the password field optional."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = make_method({"type": "basic"}, KEY_AS_USER_FIELDS, {"username": API_KEY})
    credentials = method.complete(None, {})
    method.verify(credentials.data)
    assert credentials.data == {"username": API_KEY, "password": ""}
    expected = base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert fake.calls[0].headers["Authorization"] == f"Basic {expected}"


def test_basic_with_an_optional_password_still_needs_the_user_name(fake):
    method = make_method({"type": "basic"}, KEY_AS_USER_FIELDS, {"password": ""})
    with pytest.raises(AuthError) as caught:
        method.complete(None, {})
    assert caught.value.kind == "configuration"
    assert fake.calls == []


def test_basic_refuses_a_blank_password_where_the_field_is_required(fake):
    method = make_method({"type": "basic"}, BASIC_FIELDS, {"username": "ann@example.test"})
    with pytest.raises(AuthError) as caught:
        method.complete(None, {})
    assert caught.value.message == "Enter the user name and password first."
    assert fake.calls == []


KEY_AS_PASSWORD_FIELDS = [{"key": "username", "label": "User name", "level": "account",
                           "required": False},
                          {"key": "password", "label": "API key", "secret": True,
                           "level": "account"}]


def test_basic_with_an_optional_user_name_sends_a_blank_user_and_the_key(fake):
    """lemlist: the user name is blank and the key is the password, as `:key` -- allowed
    because the catalogue makes the username field optional."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = make_method({"type": "basic"}, KEY_AS_PASSWORD_FIELDS, {"password": API_KEY})
    credentials = method.complete(None, {})
    method.verify(credentials.data)
    assert credentials.data == {"username": "", "password": API_KEY}
    expected = base64.b64encode(f":{API_KEY}".encode()).decode()
    assert fake.calls[0].headers["Authorization"] == f"Basic {expected}"


def test_basic_with_an_optional_user_name_still_needs_the_password(fake):
    """An optional user name does not make the pair optional: a blank key is refused."""
    method = make_method({"type": "basic"}, KEY_AS_PASSWORD_FIELDS, {"username": ""})
    with pytest.raises(AuthError) as caught:
        method.complete(None, {})
    assert caught.value.kind == "configuration"
    assert fake.calls == []


def test_basic_refuses_a_blank_user_name_where_the_field_is_required(fake):
    """Where the username field is required a blank user name is refused, key or not."""
    for fields in (BASIC_FIELDS, KEY_AS_USER_FIELDS):
        method = make_method({"type": "basic"}, fields, {"password": "fake-password-1"})
        with pytest.raises(AuthError) as caught:
            method.complete(None, {})
        assert caught.value.message == "Enter the user name and password first."
    assert fake.calls == []


def test_no_auth_completes_with_empty_credentials(fake):
    """type none: nothing to store, verify runs without credentials."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = make_method({"type": "none"}, [], {})
    assert method.complete(None, {}).data == {}
    method.verify({})
    assert "Authorization" not in fake.calls[0].headers


def test_verify_refuses_an_address_the_server_may_not_call(fake):
    """An SSRF-unsafe verify URL is a configuration error, not a request."""
    data = {"name": "Keyed", "description": "d", "auth": {"type": "none"},
            "api": {"base_url": "https://10.0.0.1/api", "verify": "GET /me"}}
    spec = ConnectorSpec.from_data("keyed", validate("keyed.toml", "keyed", data))
    with pytest.raises(AuthError) as caught:
        build_method(Context(spec=spec, values={})).verify({})
    assert caught.value.kind == "configuration"
    assert fake.calls == []
