"""Hosts the customer types (issue 21 §6): a field with `kind = "base_url"`, extra
`token_headers` on token requests, `[api] token_header`/`token_prefix` for OAuth 2.0 modes
and `[[post_connection]]` lookups.

A customer-typed base URL that is http, private, loopback, link-local, carries a user name
or redirects to a private address is refused with its documented status and message, and
nothing is written; a lookup answering garbage fails the sign-in the same way.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from django.core.cache import cache

from accounts.models import Account
from audit.models import AuditEvent
from connectors import hosts, http
from connectors.auth import build_method
from connectors.auth.base import Context
from connectors.schema import ConnectorSpec, FieldSpec
from connectors.spec import validate
from installs.models import Install
from tests.api.helpers import bearer, call, make_key
from tests.factories import assert_nothing_written, catalogue_refusal, make_connector
from tests.fake_provider import FakeProvider, install_fake

pytestmark = pytest.mark.django_db

KEY = "fake-gitlab-pat-123"
SERVER = "https://git.acme.test"
CREATE = "/api/v1/accounts/cust-1/installs"
# What the customer's names resolve to (the test's DNS).
ADDRESSES = {"git.acme.test": "93.184.216.34", "intranet.acme.test": "10.1.2.3",
             "api.provider.test": "93.184.216.35", "auth.provider.test": "93.184.216.36"}


def base_url_data(**field: Any) -> dict[str, Any]:
    return {
        "name": "Self-managed", "description": "A customer's own server.",
        "auth": {"type": "api_key", "header": "PRIVATE-TOKEN"},
        "api": {"base_url": "{base_url}/api/v4", "verify": "GET /user"},
        "fields": [{"key": "base_url", "label": "Server URL", "level": "account",
                    "kind": "base_url", **field},
                   {"key": "api_key", "label": "Access token", "level": "account",
                    "secret": True}],
    }


@pytest.fixture
def production(settings, monkeypatch):
    """No local providers (as in production), and a DNS of our own."""
    settings.ALLOW_LOCAL_PROVIDERS = False
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ADDRESSES:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ADDRESSES[host], 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def fake(monkeypatch, production) -> FakeProvider:
    return install_fake(monkeypatch)


@pytest.fixture
def api(partner):
    cache.clear()
    return bearer(make_key(partner)[1])


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


# --- the catalogue rules -----------------------------------------------------------------


def test_a_base_url_field_may_start_every_url():
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", base_url_data()))
    assert spec.fields[0].is_base_url and spec.api.base_url == "{base_url}/api/v4"


def test_a_base_url_only_at_the_start_of_a_url():
    data = base_url_data()
    data["api"]["base_url"] = "https://proxy.example.com/{base_url}"
    assert "api.base_url" in catalogue_refusal(data)


def test_a_plain_field_may_not_start_a_url():
    data = base_url_data()
    data["fields"][0]["kind"] = "text"
    assert "may start with {base_url} only when it is a field with kind = 'base_url'" in \
        catalogue_refusal(data)


@pytest.mark.parametrize("field, key", [
    ({"allowed_hosts": "gitlab\\.acme\\.com"}, "allowed_hosts"),   # not anchored
    ({"allowed_hosts": "^(a$"}, "allowed_hosts"),                  # not RE2
    ({"secret": True}, "kind"),
    ({"level": "captured", "pattern": "^https://x\\.y\\.z$", "from": "token.x"}, "kind"),
])
def test_a_malformed_base_url_field_is_refused(field, key):
    assert f"fields[0].{key}" in catalogue_refusal(base_url_data(**field))


def test_allowed_hosts_is_only_for_base_urls():
    data = base_url_data()
    data["fields"][1]["allowed_hosts"] = "^x$"
    assert "fields[1].allowed_hosts" in catalogue_refusal(data)


def test_token_headers_and_token_prefix_are_for_oauth2_modes_only():
    data = base_url_data()
    data["auth"]["token_headers"] = {"X-Tenant": "acme"}
    assert "auth.token_headers" in catalogue_refusal(data)
    data = base_url_data()
    data["api"]["token_prefix"] = "Zoho-oauthtoken "
    assert "api.token_header" in catalogue_refusal(data)


def test_a_token_prefix_may_not_end_a_header_line():
    data = cc_data()
    data["api"]["token_prefix"] = "Bearer\r\nX-Evil: 1 "
    assert "api.token_prefix" in catalogue_refusal(data)


# --- the value: what is accepted where it is entered ----------------------------------


FIELD = FieldSpec(key="base_url", label="Server URL", level="account", kind="base_url")


@pytest.mark.parametrize("value, message", [
    ("http://git.acme.test", hosts.NOT_HTTPS),
    ("git.acme.test", hosts.NOT_HTTPS),
    ("https://user:pw@git.acme.test", hosts.HAS_USERINFO),
    ("https://user@git.acme.test", hosts.HAS_USERINFO),
    ("https://git.acme.test/#x", hosts.HAS_EXTRAS),
    ("https://git.acme.test/?a=1", hosts.HAS_EXTRAS),
    ("https://git.acme.test/a b", hosts.NOT_A_URL),
    ("https://git.acme.test\r\n", hosts.NOT_A_URL),
    ("https://", hosts.NOT_A_URL),
    ("https://git.acme.test:0", hosts.NOT_A_URL),
    ("https://git.acme.test:99999", hosts.NOT_A_URL),
])
def test_malformed_base_urls_are_refused(value, message):
    assert hosts.problem(FIELD, value) == message


def test_a_path_and_a_port_are_kept_and_a_trailing_slash_dropped():
    assert hosts.problem(FIELD, "https://git.acme.test:8443/gitlab/") == ""
    assert hosts.normalized("https://Git.Acme.Test:8443/gitlab/") == \
        "https://git.acme.test:8443/gitlab"


def test_allowed_hosts_is_matched_against_the_whole_host():
    field = FieldSpec(key="base_url", label="Shop", level="account", kind="base_url",
                      allowed_hosts="^[a-z0-9-]+\\.acme\\.test$")
    assert hosts.problem(field, "https://shop.acme.test") == ""
    assert hosts.problem(field, "https://shop.acme.test.evil.test") == hosts.NOT_ALLOWED
    assert hosts.problem(field, "https://evil.test/shop.acme.test") == hosts.NOT_ALLOWED


@pytest.mark.parametrize("value", ["https://10.0.0.1", "https://127.0.0.1",
                                   "https://169.254.169.254", "https://[::1]",
                                   "https://intranet.acme.test", "https://localhost"])
def test_private_loopback_and_link_local_servers_are_refused(production, value):
    assert hosts.entry_problem(FIELD, value) == hosts.NOT_PUBLIC


def test_a_public_server_is_accepted(production):
    assert hosts.entry_problem(FIELD, SERVER) == ""


@pytest.mark.parametrize("url, message", [
    ("https://10.0.0.8/x", hosts.NOT_PUBLIC), ("https://localhost/x", hosts.NOT_PUBLIC),
    ("https://0x7f000001/x", hosts.NOT_PUBLIC), ("http://93.184.216.34/x", hosts.NOT_HTTPS),
    ("https://user@93.184.216.34/x", hosts.HAS_USERINFO),
])
def test_custom_connector_endpoints_are_refused_like_called_ones(production, url, message):
    """A custom connector's endpoints follow the same rules (connectors/custom.py)."""
    assert hosts.endpoint_problem(url) == message


def test_an_entered_endpoint_name_that_does_not_resolve_yet_is_accepted(production):
    """Checked again on every call: a provider's host may not resolve from here yet; a
    query is an endpoint's own."""
    assert hosts.endpoint_problem("https://api.acme-crm.invalid/v1?tenant=1") == ""


def test_a_value_that_bypassed_the_form_never_starts_a_url():
    """Rendering checks again: only a normalized, well-formed https URL."""
    from connectors.templating import TemplateValueError, render_url

    for bad in ("http://git.acme.test", "https://u@git.acme.test", "https://git.acme.test/"):
        with pytest.raises(TemplateValueError):
            render_url("{base_url}/api/v4", {"base_url": bad}, [FIELD])
    assert render_url("{base_url}/api/v4", {"base_url": SERVER}, [FIELD]) == \
        f"{SERVER}/api/v4"


# --- end to end through the API and the console ---------------------------------------


@pytest.fixture
def connector(db):
    return make_connector("self-managed", base_url_data())


def create(api, base_url: str) -> tuple[int, Any]:
    return call(api, "post", CREATE, {"connector": "self-managed",
                                      "values": {"base_url": base_url, "api_key": KEY}})


def test_a_public_server_is_installed_and_called(api, account, connector, fake):
    fake.add("GET", f"{SERVER}/gitlab/api/v4/user", json_body={"id": 1})
    code, body = create(api, SERVER + "/gitlab/")
    assert code == 201 and body["status"] == "authenticated", body
    install = Install.objects.get()
    assert install.values["base_url"] == f"{SERVER}/gitlab"
    [sent] = fake.calls
    assert fake.header(sent, "PRIVATE-TOKEN") == KEY


@pytest.mark.parametrize("value, message", [
    ("http://git.acme.test", hosts.NOT_HTTPS),
    ("https://10.0.0.1", hosts.NOT_PUBLIC),
    ("https://127.0.0.1", hosts.NOT_PUBLIC),
    ("https://169.254.169.254", hosts.NOT_PUBLIC),
    ("https://intranet.acme.test", hosts.NOT_PUBLIC),
    ("https://admin:pw@git.acme.test", hosts.HAS_USERINFO),
])
def test_a_refused_server_is_a_400_naming_the_field_and_nothing_is_written(
        api, account, connector, fake, value, message):
    events_before = AuditEvent.objects.count()
    code, body = create(api, value)
    assert code == 400 and body["type"].endswith(":validation_error"), body
    assert body["errors"] == {"values.base_url": [message]}
    assert "pw" not in json.dumps(body) and KEY not in json.dumps(body)
    assert fake.calls == []  # the server was never called
    assert_nothing_written(events_before)


def test_a_server_redirecting_to_a_private_address_is_refused(api, account, connector, fake):
    """The verify request is not redirected: the install is refused, nothing written and
    the private address never called; a session that follows redirects checks each hop."""
    fake.add("GET", f"{SERVER}/api/v4/user", status=302,
             headers={"Location": "https://10.0.0.1/latest/meta-data"})
    events_before = AuditEvent.objects.count()
    code, body = create(api, SERVER)
    assert code == 422 and body["type"].endswith(":verify_failed"), body
    assert body["detail"] == "The verify request failed (HTTP 302)."
    assert_nothing_written(events_before)
    assert [c.url for c in fake.calls] == [f"{SERVER}/api/v4/user"]
    with pytest.raises(http.UnsafeURL):
        http.Session().get(f"{SERVER}/api/v4/user")
    assert all("10.0.0.1" not in (c.url or "") for c in fake.calls)


def test_a_server_resolving_to_a_private_address_later_is_refused_at_the_call(
        api, account, connector, fake, monkeypatch):
    """DNS changed after the value was entered: the outbound guard refuses the call."""
    fake.add("GET", f"{SERVER}/api/v4/user", json_body={"id": 1})
    assert create(api, SERVER)[0] == 201
    install = Install.objects.get()
    monkeypatch.setitem(ADDRESSES, "git.acme.test", "10.9.9.9")
    response = api.get(f"/api/v1/proxy/{install.pk}/projects")
    assert response.status_code == 502, response.content
    assert response.json()["type"].endswith(":unsafe_url")
    assert len(fake.calls) == 1


def test_the_console_form_refuses_an_http_server(admin_client, account, connector, fake):
    from tests.factories import save_settings

    save_settings(account.partner, connector)
    events_before = AuditEvent.objects.count()
    response = admin_client.post(f"/accounts/{account.pk}/install/self-managed/", {
        "install_name": "Git", "base_url": "http://git.acme.test", "api_key": KEY})
    assert response.status_code == 200
    html = response.content.decode()
    assert "starting with https://" in html and KEY not in html
    assert_nothing_written(events_before)


# --- OAuth 2.0: token headers, token prefix, lookups ------------------------------------


TOKEN_URL = "https://auth.provider.test/oauth/token"
LOOKUP_URL = "https://api.provider.test/oauth/token/accessible-resources"
CLOUD_ID = "11223344-a1b2-3b33-c444-def123456789"


def cc_data(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Atlassian-ish", "description": "Client credentials with a lookup.",
        "auth": {"type": "oauth2_client_credentials", "token_url": TOKEN_URL,
                 "revoke_url": "https://auth.provider.test/oauth/revoke",
                 "token_headers": {"X-Tenant": "{tenant}", "Accept": "application/json"}},
        "api": {"base_url": "https://api.provider.test/ex/jira/{cloud_id}",
                "verify": "GET /rest/api/3/myself", "token_prefix": "Zoho-oauthtoken "},
        "post_connection": [{"request": f"GET {LOOKUP_URL}", "capture": {"cloud_id": "0.id"}}],
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Secret", "secret": True},
                   {"key": "tenant", "label": "Tenant", "level": "account"},
                   {"key": "cloud_id", "label": "Cloud ID", "level": "captured",
                    "pattern": "^[a-f0-9-]{36}$"}],
        **extra,
    }


@pytest.fixture
def atlassian(partner):
    from tests.factories import save_settings

    connector = make_connector("atlassian-ish", cc_data())
    save_settings(partner, connector, {"client_id": "fake-client"},
                  {"client_secret": "fake-client-secret-123"})
    return connector


def token(fake: FakeProvider, access: str = "fake-access-1") -> None:
    fake.add("POST", TOKEN_URL, json_body={"access_token": access, "token_type": "Bearer",
                                           "expires_in": 3600})


def create_cc(api) -> tuple[int, Any]:
    return call(api, "post", CREATE, {"connector": "atlassian-ish",
                                      "values": {"tenant": "acme"}})


def test_lookup_captures_the_cloud_id_used_by_the_base_url(api, account, atlassian, fake):
    token(fake)
    fake.add("GET", LOOKUP_URL, json_body=[{"id": CLOUD_ID, "name": "acme"}])
    fake.add("GET", f"https://api.provider.test/ex/jira/{CLOUD_ID}/rest/api/3/myself",
             json_body={"accountId": "x"})
    code, body = create_cc(api)
    assert code == 201 and body["status"] == "authenticated", body
    install = Install.objects.get()
    assert install.values["cloud_id"] == CLOUD_ID
    sent_token, lookup, verify = fake.calls
    # token_headers on the token request, placeholders filled; not on API calls
    assert fake.header(sent_token, "X-Tenant") == "acme"
    assert fake.header(sent_token, "Accept") == "application/json"
    assert fake.header(lookup, "X-Tenant") == "" and fake.header(verify, "X-Tenant") == ""
    # the Zoho-style prefix on the lookup and on API calls
    assert fake.header(lookup, "Authorization") == "Zoho-oauthtoken fake-access-1"
    assert fake.header(verify, "Authorization") == "Zoho-oauthtoken fake-access-1"

    response = api.get(f"/api/v1/proxy/{install.pk}/rest/api/3/project")
    assert response.status_code in (200, 404)
    proxied = fake.calls[-1]
    assert proxied.url == f"https://api.provider.test/ex/jira/{CLOUD_ID}/rest/api/3/project"
    assert fake.header(proxied, "Authorization") == "Zoho-oauthtoken fake-access-1"


@pytest.mark.parametrize("answer, message", [
    ({"text": "<html>oops</html>"}, "The lookup after sign-in got an answer that could not "
                                    "be read, so sign-in was stopped."),
    ({"json_body": []}, "The provider did not return the Cloud ID, so sign-in was stopped."),
    ({"json_body": {"0": "x"}}, "The provider did not return the Cloud ID, so sign-in was "
                                "stopped."),
    ({"json_body": [{"id": "../../admin"}]}, "The provider returned a Cloud ID this "
                                             "connector does not accept, so sign-in was "
                                             "stopped."),
    ({"json_body": [{"id": True}]}, "The provider did not return the Cloud ID, so sign-in "
                                    "was stopped."),
    ({"status": 403, "json_body": {"error": "nope"}},
     "The lookup after sign-in was refused by the provider (HTTP 403), so sign-in was "
     "stopped."),
    ({"status": 302, "headers": {"Location": "https://10.0.0.1/"}},
     "The lookup after sign-in failed (HTTP 302), so sign-in was stopped."),
])
def test_a_lookup_answering_garbage_fails_the_sign_in_and_writes_nothing(
        api, account, atlassian, fake, answer, message):
    token(fake)
    fake.add("GET", LOOKUP_URL, **answer)
    events_before = AuditEvent.objects.count()
    code, body = create_cc(api)
    assert code == 422 and body["type"].endswith(":token_error"), body
    assert body["detail"] == message
    assert "fake-access-1" not in json.dumps(body)
    assert_nothing_written(events_before)
    assert len(fake.calls) == 2  # no verify request after the failed lookup


def test_a_lookup_on_an_unavailable_provider_is_transient(api, account, atlassian, fake):
    token(fake)
    fake.add("GET", LOOKUP_URL, status=503, text="down")
    events_before = AuditEvent.objects.count()
    code, body = create_cc(api)
    assert code == 422 and body["type"].endswith(":unavailable"), body
    assert body["detail"] == ("The lookup after sign-in found the provider unavailable "
                              "(HTTP 503); try again later.")
    assert_nothing_written(events_before)


def method_of(data: dict[str, Any], values: dict[str, str]) -> Any:
    spec = ConnectorSpec.from_data("t", validate("t.toml", "t", data))
    return build_method(Context(spec=spec, values=values))


def oauth2_data() -> dict[str, Any]:
    data = cc_data()
    data["auth"] = {**data["auth"], "type": "oauth2",
                    "authorize_url": "https://auth.provider.test/authorize"}
    return data


def test_token_headers_on_refresh_and_revoke(fake):
    method = method_of(oauth2_data(), {"client_id": "fake-client", "tenant": "acme",
                                       "client_secret": "fake-client-secret-123"})
    token(fake, "fake-access-2")
    fake.add("POST", "https://auth.provider.test/oauth/revoke", status=200)
    method.refresh({"access_token": "old", "refresh_token": "fake-refresh-1"})
    method.revoke({"access_token": "old", "refresh_token": "fake-refresh-1"})
    refreshed, revoked = fake.calls
    for sent in (refreshed, revoked):
        assert fake.header(sent, "X-Tenant") == "acme"
    assert "refresh_token=fake-refresh-1" in refreshed.body


def test_a_token_header_value_with_a_line_break_is_refused(fake):
    from connectors.auth.base import AuthError

    method = method_of(oauth2_data(), {"client_id": "c", "tenant": "acme\r\nX-Evil: 1"})
    with pytest.raises(AuthError) as caught:
        method.refresh({"refresh_token": "fake-refresh-1"})
    assert "X-Tenant" in caught.value.message and "acme" not in caught.value.message
    assert fake.calls == []


def test_without_a_token_prefix_the_bearer_token_type_is_kept(fake):
    data = oauth2_data()
    del data["api"]["token_prefix"]
    fake.add("GET", "https://api.provider.test/x", json_body={})
    method_of(data, {"client_id": "c"}).session({"access_token": "tok"}).get(
        "https://api.provider.test/x")
    assert fake.header(fake.calls[0], "Authorization") == "Bearer tok"


def test_the_zoho_catalogue_entries_send_zoho_oauthtoken(db, fake):
    from tests.factories import catalogue_connector

    for slug in ("zoho-crm", "zoho-crm-eu"):
        spec = catalogue_connector(slug).spec
        method = build_method(Context(spec=spec, values={"client_id": "c"}))
        fake.add("GET", "https://api.provider.test/x", json_body={})
        method.session({"access_token": "tok"}).get("https://api.provider.test/x")
        assert fake.header(fake.calls[-1], "Authorization") == "Zoho-oauthtoken tok"


def test_post_connection_rules():
    data = cc_data()
    data["post_connection"][0]["capture"] = {"tenant": "0.id"}
    assert "post_connection[0].capture.tenant" in catalogue_refusal(data)
    data = cc_data()
    data["post_connection"][0]["request"] = "GET /accessible-resources"  # base URL needs it
    assert "uses {cloud_id} before a lookup captures it" in catalogue_refusal(data)
    data = cc_data()
    data["post_connection"][0]["request"] = "GET http://api.provider.test/x"
    assert "post_connection[0].request" in catalogue_refusal(data)
    data = cc_data()
    data["fields"][3]["from"] = "token.cloud_id"
    assert "fields[3].from" in catalogue_refusal(data)


# --- the real Jira Cloud entry: lookup after a browser sign-in and after import ---------


ATLASSIAN_TOKEN = "https://auth.atlassian.com/oauth/token"
RESOURCES = "https://api.atlassian.com/oauth/token/accessible-resources"
MYSELF = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}/rest/api/3/myself"


@pytest.fixture
def jira(partner, production, monkeypatch):
    from tests.factories import catalogue_connector, save_settings

    monkeypatch.setitem(ADDRESSES, "auth.atlassian.com", "93.184.216.40")
    monkeypatch.setitem(ADDRESSES, "api.atlassian.com", "93.184.216.41")
    connector = catalogue_connector("jira-cloud")
    save_settings(partner, connector, {"client_id": "fake-jira-client"},
                  {"client_secret": "fake-jira-secret-123"})
    return connector


@pytest.fixture
def jira_install(account, jira) -> Install:
    return Install.objects.create(account=account, connector=jira, name="Jira")


def sign_in(client, install: Install) -> str:
    from tests.factories import authenticate, query

    state = query(authenticate(client, install))["state"]
    response = client.get("/connectors/jira-cloud/callback",
                          {"code": "fake-code-1", "state": state})
    assert response.status_code in (200, 302)  # 302: on to the install page
    return response.content.decode()


def atlassian_token(fake: FakeProvider) -> None:
    fake.add("POST", ATLASSIAN_TOKEN, json_body={
        "access_token": "fake-jira-access", "refresh_token": "fake-jira-refresh",
        "token_type": "Bearer", "expires_in": 3600, "scope": "read:me"})


def test_jira_cloud_sign_in_looks_up_the_cloud_id(admin_client, fake, jira_install):
    atlassian_token(fake)
    fake.add("GET", RESOURCES, json_body=[{"id": CLOUD_ID, "name": "acme",
                                          "url": "https://acme.atlassian.net"}])
    fake.add("GET", MYSELF, json_body={"accountId": "fake"})
    sign_in(admin_client, jira_install)
    jira_install.refresh_from_db()
    assert jira_install.status == Install.Status.AUTHENTICATED, jira_install.last_error
    assert jira_install.values["cloud_id"] == CLOUD_ID
    lookup = fake.calls_to(RESOURCES)[0]
    assert fake.header(lookup, "Authorization") == "Bearer fake-jira-access"
    assert [c.url for c in fake.calls][-1] == MYSELF


def test_jira_cloud_sign_in_with_a_garbage_lookup_saves_nothing(admin_client, fake,
                                                                jira_install):
    atlassian_token(fake)
    fake.add("GET", RESOURCES, json_body=[{"id": "not-a-cloud-id"}])
    html = sign_in(admin_client, jira_install)
    assert ("The provider returned a Cloud ID this connector does not accept, so sign-in "
            "was stopped.") in html
    assert "fake-jira-access" not in html and "not-a-cloud-id" not in html
    jira_install.refresh_from_db()
    assert jira_install.status == Install.Status.ERROR
    assert jira_install.credentials == {} and "cloud_id" not in jira_install.values
    assert fake.calls_to(MYSELF) == []


def test_an_import_runs_the_lookup_too(account, fake, jira):
    from installs import importing

    fake.add("GET", RESOURCES, json_body=[{"id": CLOUD_ID}])
    fake.add("GET", MYSELF, json_body={"accountId": "fake"})
    request = importing.check(account=account, connector=jira, credentials={
        "access_token": "fake-imported-access", "refresh_token": "fake-imported-refresh"})
    install = importing.import_install(request, actor=None)
    assert install.values["cloud_id"] == CLOUD_ID and install.is_working


def test_an_import_whose_lookup_answers_garbage_writes_nothing(account, fake, jira):
    from connectors.auth.base import AuthError
    from installs import importing

    fake.add("GET", RESOURCES, text="<html>gateway</html>")
    request = importing.check(account=account, connector=jira, credentials={
        "access_token": "fake-imported-access"})
    events_before = AuditEvent.objects.count()
    with pytest.raises(AuthError) as caught:
        importing.import_install(request, actor=None)
    assert "could not be read" in caught.value.message
    assert_nothing_written(events_before)


# --- token_headers end to end against the sandbox ---------------------------------------


def test_token_headers_on_token_refresh_and_revoke_at_the_sandbox(admin_client, account,
                                                                   sandbox_transport):
    """A copy of the sandbox's OAuth 2.0 entry with `token_headers` and an explicit
    `[api] token_prefix`: sign-in, verify, refresh by the worker, revocation."""
    import tomllib
    from datetime import timedelta

    from django.utils import timezone

    from connectors.spec import CATALOG_DIR
    from installs import refresh
    from sandbox.services import register_client
    from tests.factories import (
        authenticate,
        callback_for,
        consent,
        install_path,
        path_and_query,
        save_settings,
    )
    from tests.installs.conftest import worker_pass

    data = tomllib.loads((CATALOG_DIR / "sandbox-oauth2.toml").read_text())
    data["auth"]["token_headers"] = {"X-Partner-App": "{client_id}", "X-Trace": "hatchway"}
    data["api"]["token_prefix"] = "Bearer "
    connector = make_connector("sandbox-headers", data)
    client_id, secret = register_client(name="Acme app", redirect_uri=callback_for(
        "sandbox-headers"))
    save_settings(account.partner, connector, {"client_id": client_id},
                  {"client_secret": secret})
    install = Install.objects.create(account=account, connector=connector, name="Sandbox")

    callback = consent(admin_client, authenticate(admin_client, install))
    admin_client.get(path_and_query(callback))
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED, install.last_error
    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    assert worker_pass() == refresh.REFRESHED
    admin_client.post(install_path(install, "deauthenticate"))

    def sent_to(path: str) -> list[Any]:
        return [c for c in sandbox_transport.calls if c.url.endswith(path)]

    token_calls = sent_to("/sandbox/oauth2/token")
    assert len(token_calls) == 2  # the code exchange and the refresh
    [revoke] = sent_to("/sandbox/oauth2/revoke")
    for call_ in (*token_calls, revoke):
        assert call_.headers["X-Partner-App"] == client_id
        assert call_.headers["X-Trace"] == "hatchway"
    for api_call in sent_to("/sandbox/api/me"):  # verify: the token, not the token headers
        assert "X-Trace" not in api_call.headers
        assert api_call.headers["Authorization"].startswith("Bearer ")


# --- a partner-level base URL (Authentication Settings) ----------------------------------


def partner_level_data() -> dict[str, Any]:
    data = base_url_data(level="partner")
    data["fields"][1]["level"] = "account"
    return data


def test_partner_settings_refuse_a_private_base_url_and_save_nothing(api, production):
    make_connector("partner-host", partner_level_data())
    code, body = call(api, "put", "/api/v1/connectors/partner-host/settings",
                      {"values": {"base_url": "https://169.254.169.254"}})
    assert code == 422 and body["errors"] == {"values.base_url": [hosts.NOT_PUBLIC]}, body
    from connectors.models import PartnerAuthSettings

    assert not PartnerAuthSettings.objects.exists()


def test_partner_settings_store_a_public_base_url_without_its_trailing_slash(api, production):
    make_connector("partner-host", partner_level_data())
    code, body = call(api, "put", "/api/v1/connectors/partner-host/settings",
                      {"values": {"base_url": "https://GIT.acme.test/gitlab/"}})
    assert code == 200, body
    assert body["values"]["base_url"] == "https://git.acme.test/gitlab"
