"""Validation of the catalogue keys added for real providers: every mistake names the file
and the key; the safe forms of captured base URLs and choices are the only ones accepted."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connectors.auth import AUTH_METHODS
from connectors.patterns import anchors_https_host
from connectors.schema import CREDENTIAL_FIELDS, ConnectorSpec
from connectors.spec import CatalogError, validate
from connectors.templating import TemplateValueError, render_url

INSTANCE_PATTERN = "^https://[a-z0-9-]+\\.my\\.salesforce\\.com$"

VALID: dict[str, Any] = {
    "name": "Fake Force", "description": "For the validation tests.",
    "auth": {"type": "oauth2", "authorize_url": "https://login.example.com/authorize",
             "token_url": "https://login.example.com/token",
             "token_params": {"expiring": "1"}, "refresh_params": {"expires_in": "1800"},
             "body_format": "json", "revoke_auth": "client_secret_post",
             "revoke_method": "POST", "revoke_body_format": "form",
             "default_expires_in": 7200, "access_token_path": "authed_user.access_token",
             "token_type": "Bearer", "invalid_grant_errors": ["invalid_refresh_token"]},
    "api": {"base_url": "{instance_url}/services/data/v61.0", "verify": "GET /limits",
            "headers": {"Notion-Version": "2022-06-28"}, "verify_expect": {"ok": True}},
    "fields": [
        {"key": "client_id", "label": "Consumer Key"},
        {"key": "instance_url", "label": "Instance URL", "level": "captured",
         "from": "token.instance_url", "pattern": INSTANCE_PATTERN},
        {"key": "region", "label": "Region", "level": "account",
         "choices": {"US": "api.example.com", "EU": "api.eu.example.com"}},
    ],
}


def edited(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    change(data)
    return data


def test_the_valid_example_loads_with_every_new_key():
    """Control: all the new keys together validate and reach the spec."""
    spec = ConnectorSpec.from_data("fake", validate("fake.toml", "fake", copy.deepcopy(VALID)))
    assert spec.auth.token_params == {"expiring": "1"}
    assert spec.auth.default_expires_in == 7200
    assert spec.auth.invalid_grant_errors == ("invalid_refresh_token",)
    assert spec.api.headers == {"Notion-Version": "2022-06-28"}
    assert spec.api.verify_expect == {"ok": True}
    captured = spec.field("instance_url")
    assert captured.is_captured and captured.is_origin
    assert captured.capture_from == "token.instance_url"
    assert spec.captured_fields == (captured,)
    assert [f.key for f in spec.account_fields] == ["region"]
    assert spec.field("region").choices == {"US": "api.example.com", "EU": "api.eu.example.com"}


CASES: dict[str, tuple[Any, str]] = {
    "body_format": (lambda d: d["auth"].update(body_format="xml"), "auth.body_format"),
    "revoke_auth": (lambda d: d["auth"].update(revoke_auth="mtls"), "auth.revoke_auth"),
    "revoke_method": (lambda d: d["auth"].update(revoke_method="GET"), "auth.revoke_method"),
    "revoke_body_format": (lambda d: d["auth"].update(revoke_body_format="x"),
                           "auth.revoke_body_format"),
    "default_expires_in text": (lambda d: d["auth"].update(default_expires_in="7200"),
                                "auth.default_expires_in"),
    "default_expires_in zero": (lambda d: d["auth"].update(default_expires_in=0),
                                "auth.default_expires_in"),
    "access_token_path": (lambda d: d["auth"].update(access_token_path="a..b"),
                          "auth.access_token_path"),
    "token_type": (lambda d: d["auth"].update(token_type="Bearer x"), "auth.token_type"),
    "invalid_grant_errors not a list": (
        lambda d: d["auth"].update(invalid_grant_errors="invalid_token"),
        "auth.invalid_grant_errors"),
    "invalid_grant_errors free text": (
        lambda d: d["auth"].update(invalid_grant_errors=["token was revoked"]),
        "auth.invalid_grant_errors[0]"),
    "token_params value": (lambda d: d["auth"].update(token_params={"a": 1}),
                           "auth.token_params.a"),
    "refresh_params placeholder": (lambda d: d["auth"].update(refresh_params={"a": "{nope}"}),
                                   "auth.refresh_params"),
    "signature_method on oauth2": (lambda d: d["auth"].update(signature_method="HMAC-SHA256"),
                                   "auth.signature_method"),
    "api header name": (lambda d: d["api"].update(headers={"Bad Header": "x"}),
                        "api.headers.Bad Header"),
    "api header reserved": (lambda d: d["api"].update(headers={"Authorization": "x"}),
                            "api.headers.Authorization"),
    "api header newline": (lambda d: d["api"].update(headers={"X-A": "a\r\nX-B: b"}),
                           "api.headers.X-A"),
    "api header placeholder not a field": (
        lambda d: d["api"].update(headers={"Client-Id": "{nope}"}), "api.headers.Client-Id"),
    "api header public_url": (
        lambda d: d["api"].update(headers={"X-Origin": "{public_url}"}), "api.headers.X-Origin"),
    "api header stray brace": (
        lambda d: d["api"].update(headers={"X-A": "{client_id}}"}), "api.headers.X-A"),
    "api header NUL": (lambda d: d["api"].update(headers={"X-A": "a\x00b"}), "api.headers.X-A"),
    "api header tab-less control": (lambda d: d["api"].update(headers={"X-A": "a\x1bb"}),
                                    "api.headers.X-A"),
    "verify_expect path": (lambda d: d["api"].update(verify_expect={"a b": True}),
                           "api.verify_expect.a b"),
    "verify_expect value": (lambda d: d["api"].update(verify_expect={"ok": [1]}),
                            "api.verify_expect.ok"),
    "verify_expect without verify": (lambda d: d["api"].pop("verify"), "api.verify"),
    "captured without from": (lambda d: d["fields"][1].pop("from"), "fields[1].from"),
    "captured from elsewhere": (lambda d: d["fields"][1].update({"from": "header.x"}),
                                "fields[1].from"),
    "captured without pattern": (lambda d: d["fields"][1].pop("pattern"), "fields[1].pattern"),
    "captured secret": (lambda d: d["fields"][1].update(secret=True), "fields[1].level"),
    "from on an account field": (lambda d: d["fields"][2].update({"from": "token.x"}),
                                 "fields[2].from"),
    "unknown level": (lambda d: d["fields"][1].update(level="token"), "fields[1].level"),
    "choices empty": (lambda d: d["fields"][2].update(choices={}), "fields[2].choices"),
    "choice value with a path": (lambda d: d["fields"][2].update(choices={"US": "a.com/x"}),
                                 "fields[2].choices.US"),
    "choice values repeated": (lambda d: d["fields"][2].update(choices={"A": "x", "B": "x"}),
                               "fields[2].choices"),
    "base URL starting with an account value": (
        lambda d: d["api"].update(base_url="{region}/v3"), "api.base_url"),
    "captured URL not at the start": (
        lambda d: d["api"].update(base_url="https://x.example.com/{instance_url}"),
        "api.base_url"),
    "captured URL without an anchored host": (
        lambda d: d["fields"][1].update(pattern="^https://.+$"), "api.base_url"),
    "captured URL followed by a host": (
        lambda d: d["api"].update(base_url="{instance_url}.evil.com/x"), "api.base_url"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_mistakes_in_the_new_keys_name_the_file_and_the_key(case):
    """Each bad value raises CatalogError naming fake.toml and the exact key."""
    change, key = CASES[case]
    with pytest.raises(CatalogError) as raised:
        validate("fake.toml", "fake", edited(change))
    assert raised.value.source == "fake.toml"
    assert raised.value.key == key


def test_oauth1_signature_method_and_realm():
    """oauth1 takes HMAC-SHA1, HMAC-SHA256 or PLAINTEXT and a realm; nothing else."""
    data = {"name": "One", "description": "OAuth 1.0a.",
            "auth": {"type": "oauth1", "request_token_url": "https://x.example.com/rt",
                     "authorize_url": "https://x.example.com/a",
                     "access_token_url": "https://x.example.com/at",
                     "signature_method": "HMAC-SHA256", "realm": "1234567_SB1"},
            "fields": [{"key": "consumer_key", "label": "Consumer Key"},
                       {"key": "consumer_secret", "label": "Consumer Secret", "secret": True}]}
    assert validate("one.toml", "one", data)["auth"]["signature_method"] == "HMAC-SHA256"
    for key, value in (("signature_method", "RSA-SHA1"), ("body_format", "json")):
        bad = copy.deepcopy(data)
        bad["auth"][key] = value
        with pytest.raises(CatalogError, match=f"one.toml: auth.{key}"):
            validate("one.toml", "one", bad)


@pytest.mark.parametrize(("pattern", "anchored"), [
    (INSTANCE_PATTERN, True),
    ("^https://[a-z0-9-]+(\\.sandbox)?\\.my\\.salesforce\\.com$", True),
    ("^https://www\\.zohoapis\\.(com|eu|in|com\\.au|jp|ca)$", True),
    ("^https://.+$", False),
    ("^https://[a-z]+\\.com$", False),
    ("^https://x\\.example\\.com|.*$", False),
    ("^https://a\\.example\\.com+$", False),
    ("^[0-9]+$", False),
])
def test_which_patterns_anchor_an_https_host(pattern, anchored):
    """Only a literal domain of two or more labels before `$` anchors the host."""
    assert anchors_https_host(pattern) is anchored


@pytest.mark.parametrize("value", [
    "https://evil.com", "https://acme.my.salesforce.com.evil.com",
    "https://acme.my.salesforce.com/", "https://acme.my.salesforce.com/x",
    "https://a@acme.my.salesforce.com", "https://acme.my.salesforce.com:444",
    "https://acme.my.salesforce.com?x=1", "https://acme.my.salesforce.com#x",
    "http://acme.my.salesforce.com", "https://ACME.my.salesforce.com",
])
def test_a_captured_base_url_must_be_a_bare_origin_matching_its_pattern(value):
    """No other host, path, user name, port, query or fragment ever starts a URL."""
    spec = ConnectorSpec.from_data("fake", validate("fake.toml", "fake", copy.deepcopy(VALID)))
    good = render_url(spec.api.base_url, {"instance_url": "https://acme.my.salesforce.com"},
                      spec.fields)
    assert good == "https://acme.my.salesforce.com/services/data/v61.0"
    with pytest.raises(TemplateValueError) as raised:
        render_url(spec.api.base_url, {"instance_url": value}, spec.fields)
    assert value not in str(raised.value)


def test_api_header_placeholders_may_name_any_field_kind():
    """Partner, secret, account, captured and choices fields may fill a header."""
    data = edited(lambda d: d["fields"].append(
        {"key": "developer_token", "label": "Developer token", "secret": True}))
    data["api"]["headers"] = {"Client-Id": "{client_id}", "developer-token": "{developer_token}",
                              "X-Region": "{region}", "X-Instance": "id={instance_url}"}
    spec = ConnectorSpec.from_data("fake", validate("fake.toml", "fake", data))
    assert spec.api.headers["developer-token"] == "{developer_token}"


@pytest.mark.parametrize(("auth_type", "key"), [("api_key", "api_key"), ("basic", "password")])
def test_api_header_placeholders_may_not_name_the_moved_credentials(auth_type, key):
    """api_key and basic move those values into the credentials: no header can use them."""
    data = {"name": "Keyed", "description": "Keys.",
            "auth": {"type": auth_type, "header": "X-Key"} if auth_type == "api_key"
            else {"type": auth_type},
            "api": {"headers": {"X-Copy": f"{{{key}}}"}},
            "fields": [{"key": "api_key", "label": "API key", "secret": True},
                       {"key": "username", "label": "User name"},
                       {"key": "password", "label": "Password", "secret": True}]}
    with pytest.raises(CatalogError) as raised:
        validate("keyed.toml", "keyed", data)
    assert (raised.value.source, raised.value.key) == ("keyed.toml", "api.headers.X-Copy")
    assert "credentials" in str(raised.value)


def test_credential_fields_match_the_methods_credential_keys():
    """The spec's list of moved fields is each method's own `credential_keys`."""
    for auth_type, keys in CREDENTIAL_FIELDS.items():
        assert AUTH_METHODS[auth_type].credential_keys == keys
