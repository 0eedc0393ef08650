"""The catalogue keys real providers need, against fake providers (canned responses):
token/refresh parameters, JSON bodies, revocation auth, default expiry, nested tokens and
token types (Slack), API headers, verify_expect, captured values, OAuth 1.0a signatures."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from oauthlib.oauth1.rfc5849 import signature
from oauthlib.oauth1.rfc5849.endpoints.base import BaseEndpoint

from connectors.auth import build_method
from connectors.auth.base import AuthError, Context
from connectors.schema import ConnectorSpec
from connectors.spec import validate
from installs.models import AuthAttempt
from tests.fake_provider import FakeProvider, install_fake

BASE = "https://provider.localhost"
CALLBACK = "http://testserver/connectors/callback"
CLIENT_SECRET = "fake-client-secret-123"
INSTANCE_PATTERN = "^https://[a-z0-9-]+\\.my\\.provider\\.localhost$"


def oauth2_data(auth: dict[str, Any] | None = None, api: dict[str, Any] | None = None,
                fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "name": "Example OAuth", "description": "An OAuth 2.0 provider.",
        "auth": {"type": "oauth2", "authorize_url": f"{BASE}/authorize",
                 "token_url": f"{BASE}/token", "revoke_url": f"{BASE}/revoke", "pkce": False,
                 **(auth or {})},
        "api": {"base_url": f"{BASE}/api", "verify": "GET /me", **(api or {})},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True},
                   *(fields or [])],
    }


def method_for(data: dict[str, Any], values: dict[str, str] | None = None) -> Any:
    spec = ConnectorSpec.from_data("example", validate("example.toml", "example", data))
    values = {"client_id": "fake-client-id", "client_secret": CLIENT_SECRET, **(values or {})}
    return build_method(Context(spec=spec, values=values, callback_url=CALLBACK))


def new_attempt() -> AuthAttempt:
    return AuthAttempt(session_hash="x", expires_at=timezone.now() + timedelta(minutes=10))


def token_json(**extra: Any) -> dict[str, Any]:
    return {"access_token": "fake-access-1", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "fake-refresh-1", **extra}


def body_json(call: Any) -> dict[str, Any]:
    return json.loads(call.body)


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


# --- token, refresh and revocation requests -------------------------------------------


def test_token_and_refresh_params_reach_the_provider_with_placeholders_filled(fake):
    """`token_params` go with the code exchange, `refresh_params` with the refresh."""
    data = oauth2_data({"token_params": {"expiring": "1", "tenant": "{tenant}"},
                        "refresh_params": {"expires_in": "1800"}},
                       fields=[{"key": "tenant", "label": "Tenant", "level": "account",
                                "pattern": "^[a-z]+$"}])
    fake.add("POST", f"{BASE}/token", json_body=token_json())
    method = method_for(data, {"tenant": "acme"})
    credentials = method.complete(new_attempt(), {"code": "fake-code-1"})
    method.refresh(credentials.data)
    exchange, refresh = (fake.form(call) for call in fake.calls_to(f"{BASE}/token"))
    assert (exchange["grant_type"], exchange["expiring"], exchange["tenant"]) == (
        "authorization_code", "1", "acme")
    assert "expires_in" not in exchange
    assert (refresh["grant_type"], refresh["expires_in"]) == ("refresh_token", "1800")
    assert "expiring" not in refresh


def test_json_body_format_sends_token_refresh_and_revoke_requests_as_json(fake):
    """`body_format = "json"`: every token, refresh and revoke body is JSON (Notion)."""
    data = oauth2_data({"body_format": "json", "token_auth": "client_secret_basic"},
                       {"headers": {"Notion-Version": "2022-06-28"}})
    fake.add("POST", f"{BASE}/token", json_body=token_json())
    fake.add("POST", f"{BASE}/revoke", status=200, json_body={})
    method = method_for(data)
    credentials = method.complete(new_attempt(), {"code": "fake-code-1"})
    method.refresh(credentials.data)
    method.revoke(credentials.data)
    exchange, refresh = fake.calls_to(f"{BASE}/token")
    revoke = fake.calls_to(f"{BASE}/revoke")[0]
    for call in (exchange, refresh, revoke):
        assert fake.header(call, "Content-Type") == "application/json"
        assert fake.header(call, "Authorization").startswith("Basic ")
    assert body_json(exchange) == {"grant_type": "authorization_code", "code": "fake-code-1",
                                   "redirect_uri": CALLBACK}
    assert body_json(refresh) == {"grant_type": "refresh_token",
                                  "refresh_token": "fake-refresh-1"}
    assert body_json(revoke) == {"token": "fake-refresh-1", "token_type_hint": "refresh_token"}
    assert fake.header(revoke, "Notion-Version") == "2022-06-28"


def test_revoke_auth_and_body_format_differ_from_the_token_request(fake):
    """Calendly-style: Basic at the token endpoint, client id and secret in the revoke body;
    QuickBooks-style: a JSON revocation while token requests stay forms."""
    data = oauth2_data({"token_auth": "client_secret_basic", "revoke_auth": "client_secret_post",
                        "revoke_body_format": "json"})
    fake.add("POST", f"{BASE}/token", json_body=token_json())
    fake.add("POST", f"{BASE}/revoke", status=200)
    method = method_for(data)
    credentials = method.complete(new_attempt(), {"code": "fake-code-1"})
    method.revoke(credentials.data)
    token_call, revoke = fake.calls_to(f"{BASE}/token")[0], fake.calls_to(f"{BASE}/revoke")[0]
    assert fake.header(token_call, "Authorization").startswith("Basic ")
    assert "client_secret" not in fake.form(token_call)
    assert not fake.header(revoke, "Authorization")
    assert body_json(revoke) == {"token": "fake-refresh-1", "token_type_hint": "refresh_token",
                                 "client_id": "fake-client-id", "client_secret": CLIENT_SECRET}


def test_revoke_method_delete(fake):
    """`revoke_method = "DELETE"` sends the revocation as a DELETE."""
    fake.add("DELETE", f"{BASE}/revoke", status=204)
    method_for(oauth2_data({"revoke_method": "DELETE"})).revoke({"access_token": "fake-at"})
    assert fake.calls_to(f"{BASE}/revoke")[0].method == "DELETE"


def test_default_expires_in_gives_an_expiry_when_the_response_has_none(fake):
    """Salesforce-style: no expires_in → `default_expires_in` seconds, on exchange and refresh."""
    response = token_json()
    del response["expires_in"]
    fake.add("POST", f"{BASE}/token", json_body=response)
    method = method_for(oauth2_data({"default_expires_in": 7200}))
    for credentials in (method.complete(new_attempt(), {"code": "fake-code-1"}),
                        method.refresh({"refresh_token": "fake-refresh-1"})):
        assert credentials.expires_at is not None
        remaining = credentials.expires_at - timezone.now()
        assert timedelta(minutes=119) < remaining <= timedelta(hours=2)


def test_a_provider_expires_in_wins_over_the_default(fake):
    """`default_expires_in` only fills a gap."""
    fake.add("POST", f"{BASE}/token", json_body=token_json(expires_in=600))
    credentials = method_for(oauth2_data({"default_expires_in": 7200})).complete(
        new_attempt(), {"code": "fake-code-1"})
    assert credentials.expires_at - timezone.now() <= timedelta(minutes=10)


# --- Slack: a nested token, a "bot" token type, ok:false -------------------------------

SLACK_RESPONSE = {
    "ok": True, "access_token": "xoxb-fake-bot", "token_type": "bot", "scope": "chat:write",
    "team": {"id": "T0FAKE", "name": "Acme"},
    "authed_user": {"id": "U0FAKE", "scope": "search:read", "access_token": "xoxp-fake-user",
                    "token_type": "user"},
}


def slack_data(**auth: Any) -> dict[str, Any]:
    return oauth2_data({"token_type": "Bearer", **auth}, {"verify_expect": {"ok": True}})


def test_slack_shaped_response_authenticates_and_verify_sends_bearer(fake):
    """`access_token_path` picks the user token, `token_type` turns "user" into Bearer."""
    fake.add("POST", f"{BASE}/token", json_body=SLACK_RESPONSE)
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True, "user_id": "U0FAKE"})
    method = method_for(slack_data(access_token_path="authed_user.access_token"))
    credentials = method.complete(new_attempt(), {"code": "fake-code-1"})
    assert credentials.data["access_token"] == "xoxp-fake-user"
    assert credentials.data["token_type"] == "Bearer"
    assert credentials.data["scope"] == "search:read"
    method.verify(credentials.data)
    call = fake.calls_to(f"{BASE}/api/me")[0]
    assert fake.header(call, "Authorization") == "Bearer xoxp-fake-user"


def test_slack_bot_token_with_token_type_override(fake):
    """Without a path the top-level bot token is used, sent as Bearer despite "bot"."""
    fake.add("POST", f"{BASE}/token", json_body=SLACK_RESPONSE)
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = method_for(slack_data())
    credentials = method.complete(new_attempt(), {"code": "fake-code-1"})
    assert (credentials.data["access_token"], credentials.data["token_type"]) == (
        "xoxb-fake-bot", "Bearer")
    method.verify(credentials.data)
    assert fake.header(fake.calls[-1], "Authorization") == "Bearer xoxb-fake-bot"


def test_an_unsupported_token_type_is_a_safe_error_not_a_crash(fake):
    """Without the override, oauthlib's "Unsupported token type" becomes an AuthError."""
    fake.add("GET", f"{BASE}/api/me", json_body={"ok": True})
    method = method_for(oauth2_data())
    with pytest.raises(AuthError) as caught:
        method.verify({"access_token": "xoxb-fake-bot", "token_type": "bot"})
    assert "xoxb" not in caught.value.message
    assert fake.calls == []


@pytest.mark.parametrize("body", [{"ok": False, "error": "invalid_auth"}, {"ok": "true"}, {},
                                  ["ok"]])
def test_verify_expect_that_does_not_hold_fails_verification(fake, body):
    """A 200 whose body does not hold `verify_expect` is "verify failed"."""
    fake.add("GET", f"{BASE}/api/me", json_body=body)
    with pytest.raises(AuthError) as caught:
        method_for(slack_data()).verify({"access_token": "fake-at", "token_type": "Bearer"})
    assert caught.value.kind == "verify_failed"
    assert "ok = true" in caught.value.message


def test_verify_expect_reads_dotted_paths(fake):
    """Nested paths are followed (Flickr-style `stat`, or deeper)."""
    data = oauth2_data(api={"verify_expect": {"result.stat": "ok"}})
    fake.add("GET", f"{BASE}/api/me", json_body={"result": {"stat": "ok"}})
    method_for(data).verify({"access_token": "fake-at"})


# --- [api] headers --------------------------------------------------------------------


def test_api_headers_are_sent_on_verify_and_session_calls(fake):
    """`[api] headers` (Notion-Version) ride on verify and on every authorised session."""
    data = oauth2_data(api={"headers": {"Notion-Version": "2022-06-28"}})
    fake.add("GET", f"{BASE}/api/me", json_body={})
    fake.add("GET", f"{BASE}/api/pages", json_body={})
    method = method_for(data)
    credentials = {"access_token": "fake-at", "token_type": "Bearer"}
    method.verify(credentials)
    method.session(credentials).get(f"{BASE}/api/pages")
    assert method.api_headers == {"Notion-Version": "2022-06-28"}
    for call in fake.calls:
        assert fake.header(call, "Notion-Version") == "2022-06-28"
        assert fake.header(call, "Authorization") == "Bearer fake-at"


def test_api_headers_apply_to_api_key_sessions_too(fake):
    """Every method's session carries them, e.g. an API key connector's User-Agent."""
    data = {"name": "Keyed", "description": "An API key provider.",
            "auth": {"type": "api_key", "header": "X-API-Key"},
            "api": {"base_url": f"{BASE}/api", "verify": "GET /me",
                    "headers": {"User-Agent": "Hatchway/1.0 +https://example.com"}},
            "fields": [{"key": "api_key", "label": "API key", "level": "account",
                        "secret": True}]}
    fake.add("GET", f"{BASE}/api/me", json_body={})
    spec = ConnectorSpec.from_data("keyed", validate("keyed.toml", "keyed", data))
    build_method(Context(spec=spec, values={})).verify({"api_key": "fake-key"})
    assert fake.header(fake.calls[0], "User-Agent") == "Hatchway/1.0 +https://example.com"
    assert fake.header(fake.calls[0], "X-API-Key") == "fake-key"


def header_data() -> dict[str, Any]:
    """Twitch- and Google Ads-shaped: the client ID and a secret partner value in headers."""
    return oauth2_data(api={"headers": {"Client-Id": "{client_id}",
                                        "developer-token": "{developer_token}"}},
                       fields=[{"key": "developer_token", "label": "Developer token",
                                "secret": True}])


def test_api_header_placeholders_are_filled_on_verify_sessions_and_revocation(fake):
    """`{client_id}` and a secret `{developer_token}` reach the provider, filled."""
    fake.add("GET", f"{BASE}/api/me", json_body={})
    fake.add("GET", f"{BASE}/api/campaigns", json_body={})
    fake.add("POST", f"{BASE}/revoke", json_body={})
    method = method_for(header_data(), {"developer_token": "fake-dev-token"})
    credentials = {"access_token": "fake-at", "token_type": "Bearer"}
    method.verify(credentials)
    method.session(credentials).get(f"{BASE}/api/campaigns")
    method.revoke(credentials)
    assert len(fake.calls) == 3
    for call in fake.calls:
        assert fake.header(call, "Client-Id") == "fake-client-id"
        assert fake.header(call, "developer-token") == "fake-dev-token"


@pytest.mark.parametrize("hostile", ["fake\r\nX-Evil: 1", "fake\nX-Evil: 1", "fake\x00",
                                     "fake\rX"])
def test_a_header_value_with_a_line_break_or_nul_is_refused(fake, hostile):
    """Header injection: nothing is sent, and the error names the field, not the value."""
    method = method_for(header_data(), {"developer_token": hostile})
    with pytest.raises(AuthError) as raised:
        method.verify({"access_token": "fake-at", "token_type": "Bearer"})
    assert raised.value.kind == "configuration"
    assert "developer_token" in raised.value.message
    assert "developer-token header" in raised.value.message
    assert "X-Evil" not in raised.value.message and "fake" not in raised.value.message
    assert fake.calls == []


def test_a_header_placeholder_without_a_value_is_a_configuration_error(fake):
    """A blank value is not sent as an empty header: the install's details need it."""
    method = method_for(header_data())
    with pytest.raises(AuthError, match="developer_token.*missing") as raised:
        method.session({"access_token": "fake-at"})
    assert raised.value.kind == "configuration"
    assert fake.calls == []


# --- captured values ------------------------------------------------------------------


def captured_data() -> dict[str, Any]:
    return oauth2_data(api={"base_url": "{instance_url}/services/data/v61.0",
                            "verify": "GET /limits"},
                       fields=[{"key": "instance_url", "label": "Instance URL",
                                "level": "captured", "from": "token.instance_url",
                                "pattern": INSTANCE_PATTERN},
                               {"key": "realm_id", "label": "Company ID", "level": "captured",
                                "from": "callback.realmId", "pattern": "^[0-9]{1,20}$",
                                "required": False}])


def test_captured_instance_url_is_the_base_url_of_verify(fake):
    """The token's instance_url and the callback's realmId are captured; verify uses the URL."""
    fake.add("POST", f"{BASE}/token",
             json_body=token_json(instance_url="https://acme.my.provider.localhost"))
    fake.add("GET", "https://acme.my.provider.localhost/services/data/v61.0/limits",
             json_body={})
    method = method_for(captured_data())
    credentials = method.complete(new_attempt(), {"code": "fake-code-1", "realmId": "9130"})
    assert credentials.captured == {"instance_url": "https://acme.my.provider.localhost",
                                    "realm_id": "9130"}
    method.verify(credentials.data)
    assert fake.calls[-1].url == "https://acme.my.provider.localhost/services/data/v61.0/limits"


def test_a_captured_origin_is_kept_in_lower_case(fake):
    """Host names are case-insensitive: an upper-case instance URL is kept lower-cased."""
    fake.add("POST", f"{BASE}/token",
             json_body=token_json(instance_url="https://Acme.My.Provider.localhost"))
    credentials = method_for(captured_data()).complete(new_attempt(), {"code": "fake-code-1"})
    assert credentials.captured["instance_url"] == "https://acme.my.provider.localhost"


@pytest.mark.parametrize("instance_url", [
    "https://evil.example", "https://acme.my.provider.localhost.evil.example",
    "https://acme.my.provider.localhost/x", "https://user@acme.my.provider.localhost",
    "https://acme.my.provider.localhost:8443", "http://acme.my.provider.localhost", 42, "",
])
def test_a_captured_value_failing_its_pattern_stops_the_sign_in(fake, instance_url):
    """A captured value that fails its pattern (or is missing) stops sign-in: nothing returned,
    and the value is not echoed."""
    fake.add("POST", f"{BASE}/token", json_body=token_json(instance_url=instance_url))
    with pytest.raises(AuthError) as caught:
        method_for(captured_data()).complete(new_attempt(), {"code": "fake-code-1"})
    assert "Instance URL" in caught.value.message
    assert "sign-in was stopped" in caught.value.message
    assert "evil" not in caught.value.message
    assert [c.url for c in fake.calls] == [f"{BASE}/token"]


def test_a_captured_callback_value_failing_its_pattern_stops_the_sign_in(fake):
    """`callback.realmId` is checked like token values."""
    fake.add("POST", f"{BASE}/token",
             json_body=token_json(instance_url="https://acme.my.provider.localhost"))
    with pytest.raises(AuthError, match="Company ID"):
        method_for(captured_data()).complete(new_attempt(),
                                              {"code": "fake-code-1", "realmId": "1/../x"})


# --- OAuth 1.0a: signature methods, realm, the callback confirmation -------------------

OAUTH1_DATA: dict[str, Any] = {
    "name": "Example OAuth1", "description": "An OAuth 1.0a provider.",
    "auth": {"type": "oauth1", "request_token_url": f"{BASE}/request_token",
             "authorize_url": f"{BASE}/authorize", "access_token_url": f"{BASE}/access_token"},
    "api": {"base_url": f"{BASE}/api", "verify": "GET /me"},
    "fields": [{"key": "consumer_key", "label": "Consumer Key"},
               {"key": "consumer_secret", "label": "Consumer Secret", "secret": True}],
}
OAUTH1_SECRET = "fake-consumer-secret-123"


def oauth1_method(**auth: Any) -> Any:
    data = {**OAUTH1_DATA, "auth": {**OAUTH1_DATA["auth"], **auth}}
    spec = ConnectorSpec.from_data("ex1", validate("ex1.toml", "ex1", data))
    return build_method(Context(spec=spec, values={"consumer_key": "fake-consumer-key",
                                                   "consumer_secret": OAUTH1_SECRET},
                                callback_url=CALLBACK))


def server_request(call: Any) -> Any:
    """The request as oauthlib's provider side parses it (signature, method, realm)."""
    return BaseEndpoint(request_validator=None)._create_request(
        call.url, call.method, call.body, dict(call.headers))


def test_hmac_sha256_signatures_with_a_realm_verify_at_the_provider(fake):
    """NetSuite-style HMAC-SHA256 + realm: the provider side verifies both signatures."""
    fake.add("POST", f"{BASE}/request_token",
             text="oauth_token=fake-rt&oauth_token_secret=fake-rt-secret"
                  "&oauth_callback_confirmed=true")
    fake.add("GET", f"{BASE}/api/me", json_body={})
    method = oauth1_method(signature_method="HMAC-SHA256", realm="1234567_SB1")
    method.begin(new_attempt())
    method.verify({"oauth_token": "fake-at", "oauth_token_secret": "fake-at-secret"})
    request_token, api_call = fake.calls
    for call, token_secret in ((request_token, None), (api_call, "fake-at-secret")):
        request = server_request(call)
        assert request.signature_method == "HMAC-SHA256"
        assert fake.header(call, "Authorization").startswith('OAuth realm="1234567_SB1"')
        assert signature.verify_hmac_sha256(request, OAUTH1_SECRET, token_secret)
        assert not signature.verify_hmac_sha256(request, "wrong-secret", token_secret)


def test_plaintext_signature_method(fake):
    """PLAINTEXT is sent as such and verifies at the provider."""
    fake.add("GET", f"{BASE}/api/me", json_body={})
    oauth1_method(signature_method="PLAINTEXT").verify(
        {"oauth_token": "fake-at", "oauth_token_secret": "fake-at-secret"})
    request = server_request(fake.calls[0])
    assert request.signature_method == "PLAINTEXT"
    assert signature.verify_plaintext(request, OAUTH1_SECRET, "fake-at-secret")


@pytest.mark.parametrize("confirmed", ["true", "True", "TRUE"])
def test_oauth_callback_confirmed_is_accepted_case_insensitively(fake, confirmed):
    """Authlib-based providers answer "True": accepted like "true"."""
    fake.add("POST", f"{BASE}/request_token", text="oauth_token=fake-rt&oauth_token_secret=s"
                                                   f"&oauth_callback_confirmed={confirmed}")
    attempt = new_attempt()
    url = oauth1_method().begin(attempt)
    assert parse_qs(urlsplit(url).query)["oauth_token"] == ["fake-rt"]
    assert attempt.secrets == {"request_token_secret": "s"}


@pytest.mark.parametrize("tail", ["", "&oauth_callback_confirmed=false",
                                  "&oauth_callback_confirmed=False",
                                  "&oauth_callback_confirmed=yes"])
def test_missing_or_false_callback_confirmation_is_refused(fake, tail):
    """Missing, false or anything but true (in any case) stops the flow; nothing kept."""
    fake.add("POST", f"{BASE}/request_token", text=f"oauth_token=t&oauth_token_secret=s{tail}")
    attempt = new_attempt()
    with pytest.raises(AuthError, match="oauth_callback_confirmed"):
        oauth1_method().begin(attempt)
    assert attempt.secrets == {}
