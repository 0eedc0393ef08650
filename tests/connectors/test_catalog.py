"""The shipped catalogue: every file validates, the contract entries are exact, and the
facts that matter for security (secret flags, levels, templated hosts) hold everywhere."""

from __future__ import annotations

import ipaddress
import re
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from connectors.models import Connector
from connectors.patterns import HOST_SUFFIX_RE, anchors_https_host
from connectors.schema import AUTH_TYPES, ConnectorSpec
from connectors.spec import CATALOG_DIR, load_catalog, load_file
from connectors.templating import spec_urls, url_keys

CATALOG = load_catalog()
SPECS = {slug: ConnectorSpec.from_data(slug, data) for slug, data in CATALOG.items()}
SLUGS = sorted(CATALOG)
SANDBOX = ["sandbox-oauth2", "sandbox-oauth1", "sandbox-client-credentials",
           "sandbox-api-key", "sandbox-basic", "sandbox-two-step", "sandbox-github-app"]
# Field keys whose value is a credential and so must be stored encrypted, never echoed.
SECRET_KEYS = {"client_secret", "consumer_secret", "api_key", "password"}


def fields_by_key(slug: str) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in CATALOG[slug]["fields"]}


def starts_with_captured_origin(spec: ConnectorSpec, url: str) -> bool:
    """`{key}/…` where `key` is a captured https origin whose pattern anchors the host, or
    a customer-typed base URL (`kind = "base_url"`, checked by connectors/hosts.py)."""
    match = re.match(r"^\{([a-z_]+)\}(/|$)", url)
    field = spec.field(match.group(1)) if match else None
    return field is not None and (field.is_origin or field.is_base_url)


def customer_server(spec: ConnectorSpec) -> bool:
    """Whether the connector calls a server the customer names (`kind = "base_url"`)."""
    return any(field.is_base_url for field in spec.fields)


def test_every_file_validates_one_by_one():
    """Each *.toml file in connectors/catalog loads on its own, with the stem as slug."""
    paths = sorted(CATALOG_DIR.glob("*.toml"))
    loaded = dict(load_file(path) for path in paths)
    assert sorted(loaded) == SLUGS == sorted(path.stem for path in paths)
    assert loaded == CATALOG


def test_at_least_forty_real_connectors():
    """Forty or more connectors ship besides the five sandbox entries."""
    assert len([slug for slug in SLUGS if not slug.startswith("sandbox-")]) >= 40


def test_every_auth_type_is_covered():
    """oauth1, oauth2, client credentials, api_key, basic and none all have entries."""
    assert {data["auth"]["type"] for data in CATALOG.values()} == set(AUTH_TYPES)


@pytest.mark.django_db
def test_sync_connectors_loads_the_shipped_catalogue():
    """`manage.py sync_connectors` adds one active Connector per file."""
    out = StringIO()
    call_command("sync_connectors", stdout=out)
    assert f"{len(SLUGS)} added, 0 updated, 0 unchanged, 0 retired" in out.getvalue()
    assert sorted(Connector.objects.active(None).values_list("slug", flat=True)) == SLUGS
    first = Connector.objects.get(slug="1st-connect")
    assert first.name == "1st Connect" and first.auth_type == "oauth1"
    assert first.spec.partner_fields[1].label == "Consumer Secret"


def test_1st_connect_has_exactly_the_two_partner_fields():
    """1st Connect asks the partner for Consumer Key and a secret Consumer Secret, nothing else."""
    spec = SPECS["1st-connect"]
    assert spec.name == "1st Connect"
    assert spec.auth.type == "oauth1"
    assert [(f.key, f.label, f.level, f.secret, f.required) for f in spec.fields] == [
        ("consumer_key", "Consumer Key", "partner", False, True),
        ("consumer_secret", "Consumer Secret", "partner", True, True),
    ]
    assert spec.account_fields == ()


@pytest.mark.parametrize(("slug", "name", "auth"), [
    ("sandbox-oauth2", "Sandbox (OAuth 2.0)", {
        "type": "oauth2", "authorize_url": "{public_url}/sandbox/oauth2/authorize",
        "token_url": "{public_url}/sandbox/oauth2/token",
        "revoke_url": "{public_url}/sandbox/oauth2/revoke", "scopes": ["read", "write"],
        "optional_scopes": [
            {"scope": "profile", "description": "See the user name"},
            {"scope": "email", "description": "See the email address"},
            {"scope": "offline_access", "description": "Stay connected (refresh tokens)"}],
        "pkce": True, "token_auth": "client_secret_post"}),
    ("sandbox-oauth1", "Sandbox (OAuth 1.0a)", {
        "type": "oauth1", "request_token_url": "{public_url}/sandbox/oauth1/request_token",
        "authorize_url": "{public_url}/sandbox/oauth1/authorize",
        "access_token_url": "{public_url}/sandbox/oauth1/access_token"}),
    ("sandbox-client-credentials", "Sandbox (Client credentials)", {
        "type": "oauth2_client_credentials", "token_url": "{public_url}/sandbox/oauth2/token",
        "scopes": ["read"]}),
    ("sandbox-api-key", "Sandbox (API key)", {
        "type": "api_key", "header": "X-API-Key", "prefix": ""}),
    ("sandbox-basic", "Sandbox (Basic)", {"type": "basic"}),
])
def test_sandbox_entries_match_the_contract(slug, name, auth):
    """The five sandbox entries point at the sandbox app exactly as agreed."""
    data = CATALOG[slug]
    assert data["name"] == name
    assert data["categories"] == ["Sandbox"]
    assert data["auth"] == auth
    assert data["api"] == {"base_url": "{public_url}/sandbox/api", "verify": "GET /me"}


@pytest.mark.parametrize(("slug", "expected"), [
    ("sandbox-oauth2", [("client_id", "Client ID", "partner", False),
                        ("client_secret", "Client Secret", "partner", True)]),
    ("sandbox-oauth1", [("consumer_key", "Consumer Key", "partner", False),
                        ("consumer_secret", "Consumer Secret", "partner", True)]),
    ("sandbox-client-credentials", [("client_id", "Client ID", "partner", False),
                                    ("client_secret", "Client Secret", "partner", True)]),
    ("sandbox-api-key", [("api_key", "API key", "account", True)]),
    ("sandbox-basic", [("username", "Username", "account", False),
                       ("password", "Password", "account", True)]),
])
def test_sandbox_fields_match_the_contract(slug, expected):
    """Sandbox field keys, labels, levels and secret flags are the agreed ones."""
    assert [(f.key, f.label, f.level, f.secret) for f in SPECS[slug].fields] == expected


@pytest.mark.parametrize(("slug", "labels"), [
    ("salesforce", {"client_id": "Consumer Key", "client_secret": "Consumer Secret"}),
    ("hubspot", {"client_id": "Client ID", "client_secret": "Client secret"}),
    ("stripe", {"api_key": "Secret key"}),
    ("pipedrive", {"api_key": "API token"}),
    ("jira", {"subdomain": "Site name", "username": "Email", "password": "API token"}),
    ("quickbooks-online", {"realm_id": "Company ID (realm ID)"}),
    ("twilio", {"username": "Account SID", "password": "Auth Token"}),
    ("trello", {"consumer_key": "API key", "consumer_secret": "Secret"}),
    ("dropbox", {"client_id": "App key", "client_secret": "App secret"}),
    ("docusign", {"client_id": "Integration Key", "client_secret": "Secret Key"}),
])
def test_field_labels_are_the_third_partys_own(slug, labels):
    """Labels read exactly as the third party names the value in its own console."""
    fields = fields_by_key(slug)
    assert {key: fields[key]["label"] for key in labels} == labels


def test_every_field_is_fully_described():
    """Every field states its label, help, level, secret and required flags explicitly."""
    for slug in SLUGS:
        for field in CATALOG[slug]["fields"]:
            missing = {"label", "help", "level", "secret", "required"} - set(field)
            assert not missing, f"{slug}: {field['key']} lacks {missing}"
            assert field["help"].strip(), f"{slug}: {field['key']} has no help"


def test_credential_fields_are_secret():
    """Client secrets, consumer secrets, API keys and passwords are always marked secret."""
    for slug in SLUGS:
        for field in CATALOG[slug]["fields"]:
            if field["key"] in SECRET_KEYS and (slug, field["key"]) != ("freshdesk", "password"):
                assert field["secret"] is True, f"{slug}: {field['key']} is not secret"


def test_freshdesk_sends_the_api_key_as_user_name():
    """Freshdesk's API key is the (secret) Basic user name; the password is the literal X."""
    fields = fields_by_key("freshdesk")
    assert (fields["username"]["label"], fields["username"]["secret"]) == ("API key", True)
    assert re.fullmatch(fields["password"]["pattern"], "X")
    assert not re.fullmatch(fields["password"]["pattern"], "real-password")


def test_oauth_app_credentials_are_partner_level():
    """Browser-flow OAuth app credentials belong to the partner, not to each account --
    but on a customer's own server (GitLab Self-Managed, Mastodon) the customer registers
    the app there, so they are asked at install."""
    for slug, spec in SPECS.items():
        if spec.auth.type in ("oauth1", "oauth2") and not customer_server(spec):
            for key in ("client_id", "client_secret", "consumer_key", "consumer_secret"):
                field = spec.field(key)
                assert field is None or field.level == "partner", f"{slug}: {key}"


def test_api_keys_and_basic_credentials_are_account_level():
    """A customer's own API key or login is asked at install, never stored for the partner."""
    for slug, spec in SPECS.items():
        if spec.auth.type in ("api_key", "basic"):
            assert all(f.level == "account" for f in spec.fields), slug


HOSTILE = ("evil.com/x", "a b", "acme.zendesk.com", "-acme", "../x", "", "https://evil.com")


def test_templated_hosts_come_from_account_values_with_a_host_label_pattern():
    """Every `{key}` in a URL names an account-level field whose pattern admits only host
    labels, a select of the catalogue's own hosts, or a captured value with a strict pattern
    (app_installation: also the partner's app slug, in the install page's path)."""
    for slug, spec in SPECS.items():
        for key in url_keys(spec):
            field = spec.field(key)
            levels = ("account", "captured", *(
                ("partner",) if spec.auth.type == "app_installation" else ()))
            assert field is not None and field.level in levels, f"{slug}: {key}"
            if field.choices or field.is_base_url:  # base URLs: connectors/hosts.py
                assert field.level == "account", f"{slug}: {key}"
                continue
            assert field.pattern, f"{slug}: {key} has no pattern"
            if field.is_origin:
                assert anchors_https_host(field.pattern), f"{slug}: {key}"
            for hostile in HOSTILE:
                assert not re.fullmatch(field.pattern, hostile), f"{slug}: {key} {hostile!r}"


@pytest.mark.parametrize(("slug", "key", "good", "bad"), [
    ("stripe", "api_key", "sk_test_fake4eC39HqLyjWDarjtT1zdp7dc", "pk_test_fake123"),
    ("stripe", "api_key", "rk_live_fakeRestricted123", "sk_live_"),
    ("sendgrid", "api_key", "SG.fake-key_123.fake-secret_456", "SG.only-one-part"),
    ("pipedrive", "api_key", "0123456789abcdef0123456789abcdef01234567", "not-a-token"),
    ("twilio", "username", "AC" + "0" * 32, "SK" + "0" * 32),
    ("twilio", "password", "f" * 32, "F" * 31),
    ("clickup", "api_key", "pk_1234567_FAKE0TOKEN0VALUE0ONLY0FOR0TESTS", "pk_abc"),
    ("airtable-pat", "api_key", "patFAKE0000000000.deadbeef", "keyFAKE000000000"),
    ("quickbooks-online", "realm_id", "9130350000000000", "9130-35"),
    ("zendesk", "subdomain", "acme-support", "Acme.zendesk.com"),
    ("shopify", "shop", "acme-store", "acme-store.myshopify.com"),
    ("microsoft-graph-app", "tenant_id", "00000000-0000-0000-0000-000000000000", "contoso"),
    ("google-sheets", "client_id", "1234-fakeclient.apps.googleusercontent.com", "1234"),
    ("slack", "client_id", "1234567890.9876543210", "abc"),
    ("jira", "username", "alice@example.com", "alice"),
    ("auth0", "region", "eu", "eu.auth0.com"),
])
def test_patterns_accept_real_formats_and_refuse_others(slug, key, good, bad):
    """Field patterns match the provider's real value format (fake values) and refuse others."""
    pattern = fields_by_key(slug)[key]["pattern"]
    assert re.fullmatch(pattern, good)
    assert not re.fullmatch(pattern, bad)


def test_every_pattern_compiles_and_is_anchored():
    """Patterns are valid regexes anchored at both ends, so a match covers the whole value."""
    for slug in SLUGS:
        for field in CATALOG[slug]["fields"]:
            if "pattern" in field:
                re.compile(field["pattern"])
                assert field["pattern"].startswith("^") and field["pattern"].endswith("$"), slug


def test_real_connectors_link_their_site_and_docs_over_https():
    """Every non-sandbox entry has an https website and API docs link and an API base URL."""
    for slug in SLUGS:
        if slug.startswith("sandbox-"):
            continue
        data = CATALOG[slug]
        assert data["website"].startswith("https://"), slug
        assert data["api_docs"].startswith("https://"), slug
        if SPECS[slug].auth.discovery == "protected_resource":  # an MCP server: its URL
            continue
        if slug != "mailchimp":  # its API host is per data centre, learned after the token
            base_url = data.get("api", {}).get("base_url", "")
            assert base_url.startswith("https://") or starts_with_captured_origin(
                SPECS[slug], base_url), slug


def test_every_endpoint_is_https_outside_the_sandbox():
    """Auth and API URLs are https everywhere except the sandbox's `{public_url}` ones."""
    for slug, spec in SPECS.items():
        for url in spec_urls(spec):
            if slug.startswith("sandbox-"):
                assert url.startswith("{public_url}/sandbox/"), slug
            else:
                assert url.startswith("https://") or starts_with_captured_origin(spec, url), (
                    f"{slug}: {url}")


def test_every_guide_has_the_three_sections_with_numbered_steps():
    """Guides say what is needed, how to get the details (as steps) and what installs ask."""
    for slug in SLUGS:
        guide = CATALOG[slug]["guide"]
        assert set(guide) == {"requirements", "credentials", "account_setup"}, slug
        assert all(text.strip() for text in guide.values()), slug
        if SPECS[slug].partner_fields:
            assert re.search(r"^1\. ", guide["credentials"], re.MULTILINE), slug
        if SPECS[slug].auth.type in ("oauth1", "oauth2") and (
                SPECS[slug].auth.registration != "dynamic"):  # registered by Hatchway
            assert "Callback URL" in guide["credentials"], slug


def test_oauth2_entries_name_their_token_authentication_and_pkce():
    """Every authorization-code entry states pkce and token_auth rather than relying on defaults."""
    for slug, data in CATALOG.items():
        if data["auth"]["type"] == "oauth2":
            assert "pkce" in data["auth"], slug
            if data["auth"].get("registration") != "dynamic":  # else the registration's
                assert "token_auth" in data["auth"], slug


@pytest.mark.parametrize(("slug", "auth"), [
    ("trello", {"request_token_url": "https://trello.com/1/OAuthGetRequestToken",
                "authorize_url": "https://trello.com/1/OAuthAuthorizeToken",
                "access_token_url": "https://trello.com/1/OAuthGetAccessToken"}),
    ("google-sheets", {"revoke_url": "https://oauth2.googleapis.com/revoke",
                       "authorize_params": {"access_type": "offline", "prompt": "consent"}}),
    ("zendesk", {"authorize_url": "https://{subdomain}.zendesk.com/oauth/authorizations/new",
                 "token_url": "https://{subdomain}.zendesk.com/oauth/tokens"}),
    ("shopify", {"authorize_url": "https://{shop}.myshopify.com/admin/oauth/authorize"}),
    ("paypal", {"type": "oauth2_client_credentials",
                "token_url": "https://api-m.paypal.com/v1/oauth2/token",
                "token_auth": "client_secret_basic"}),
    ("pipedrive", {"type": "api_key", "header": "x-api-token", "prefix": ""}),
    ("hubspot", {"token_url": "https://api.hubapi.com/oauth/2026-03/token",
                 "revoke_url": "https://api.hubapi.com/oauth/2026-03/token/revoke"}),
    ("shopify", {"token_params": {"expiring": "1"}}),
    ("zendesk", {"token_params": {"expires_in": "1800"}, "refresh_params": {"expires_in": "1800"}}),
    ("slack", {"token_type": "Bearer"}),
    ("notion", {"body_format": "json", "token_auth": "client_secret_basic",
                "revoke_url": "https://api.notion.com/v1/oauth/revoke"}),
    ("calendly", {"token_auth": "client_secret_basic", "revoke_auth": "client_secret_post",
                  "pkce": True}),
    ("quickbooks-online", {"revoke_body_format": "json"}),
    ("salesforce", {"default_expires_in": 3600}),
    ("stripe", {"type": "api_key", "header": "Authorization", "prefix": "Bearer "}),
    ("salesforce", {"token_url": "https://login.salesforce.com/services/oauth2/token"}),
    ("discord", {"pkce": True}),
    ("docusign", {"pkce": True, "token_auth": "client_secret_basic"}),
    ("jira-cloud", {"body_format": "json"}),
    ("twitch", {"token_url": "https://id.twitch.tv/oauth2/token", "pkce": False}),
    ("harvest", {"token_url": "https://id.getharvest.com/api/v2/oauth2/token"}),
    ("algolia", {"type": "api_key", "header": "X-Algolia-API-Key", "prefix": ""}),
])
def test_named_endpoints(slug, auth):
    """Spot checks of the documented endpoints the issue names."""
    assert {key: CATALOG[slug]["auth"][key] for key in auth} == auth


@pytest.mark.parametrize(("slug", "verify"), [
    ("stripe", "GET /v1/balance"), ("github", "GET /user"), ("jira", "GET /myself"),
    ("twitch", "GET /users"), ("harvest", "GET /users/me"), ("algolia", "GET /1/indexes"),
    ("google-ads", "GET /customers:listAccessibleCustomers"), ("etsy", "GET /users/me"),
    ("deel", "GET /organizations"),
])
def test_verify_requests(slug, verify):
    """Cheap identity endpoints prove credentials where the provider has one."""
    assert CATALOG[slug]["api"]["verify"] == verify


@pytest.mark.django_db
def test_every_shipped_connector_renders_its_guide_and_settings_pages(admin_client, catalog):
    """The real catalogue data renders: each guide names its fields, each settings page loads."""
    for slug, spec in SPECS.items():
        guide = admin_client.get(reverse("connectors:guide", args=[slug]))
        assert guide.status_code == 200, slug
        html = guide.content.decode()
        assert all(field.label.replace("'", "&#x27;") in html for field in spec.fields), slug
        settings_page = admin_client.get(reverse("connectors:settings", args=[slug]))
        assert settings_page.status_code == 200, slug
        assert f"{spec.name} Authentication Settings" in settings_page.content.decode(), slug


# --- every real connector: public https endpoints, a docs link, labels, guides ---------

REAL = [slug for slug in SLUGS if not slug.startswith("sandbox-")]
# 1st Connect publishes no OAuth documentation: its endpoints are reserved-domain
# placeholders (see the comment in its file), to be replaced before customers install it.
PLACEHOLDER_ENDPOINTS = {"1st-connect"}
NON_PUBLIC_SUFFIXES = (".example", ".invalid", ".localhost", ".local", ".test", ".internal",
                       ".lan", ".home.arpa")


def endpoint_hosts(spec: ConnectorSpec) -> list[str]:
    """Every endpoint's host, with a choice's listed hosts and a captured origin's domain."""
    urls = [*spec_urls(spec)]
    verify = spec.verify_request
    if verify and not verify[1].startswith("/"):
        urls.append(verify[1])
    hosts = []
    for url in urls:
        choices = [field for key in re.findall(r"\{([a-z_]+)\}", url)
                   if (field := spec.field(key)) is not None and field.choices]
        if choices:
            hosts += [urlsplit(url.replace(f"{{{field.key}}}", value)).hostname or ""
                      for field in choices for value in field.choices.values()]
        elif url.startswith("{") and spec.field(url[1:url.index("}")]).is_base_url:
            continue  # the customer's own server, checked where entered and on every call
        elif starts_with_captured_origin(spec, url):
            hosts += captured_domains(spec.field(url[1:url.index("}")]).pattern)
        else:
            hosts.append(urlsplit(re.sub(r"\{[a-z_]+\}", "x", url)).hostname or "")
    return hosts


def captured_domains(pattern: str) -> list[str]:
    """The fixed domains a captured origin's pattern anchors (`zohoapis.(com|eu)` → two)."""
    suffix = HOST_SUFFIX_RE.search(pattern).group(0).replace("\\", "").rstrip("$").lstrip(".")
    head, _, group = suffix.partition("(")
    if not group:
        return [suffix]
    return [head + option for option in group.removeprefix("?:").rstrip(")").split("|")]


def is_public_host_name(host: str) -> bool:
    """A DNS name with a public-looking top-level label: no IP address, no reserved domain."""
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", host) or "." not in host:
        return False
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        return not host.endswith(NON_PUBLIC_SUFFIXES) and host != "localhost"


@pytest.mark.parametrize("slug", REAL)
def test_real_connector_endpoints_are_https_on_public_host_names(slug):
    """Every endpoint is https:// on a public DNS name (choices and captured origins too)."""
    spec = SPECS[slug]
    for url in spec_urls(spec):
        assert url.startswith("https://") or starts_with_captured_origin(spec, url), url
    hosts = endpoint_hosts(spec)
    if spec.server_url_field is not None:  # any MCP server: the customer enters its URL
        assert hosts == [], slug
        return
    assert hosts or customer_server(spec), slug
    if slug in PLACEHOLDER_ENDPOINTS:
        assert all(host.endswith(".example") for host in hosts), hosts
        return
    for host in hosts:
        assert is_public_host_name(host), f"{slug}: {host}"


@pytest.mark.parametrize("slug", REAL)
def test_real_connector_has_a_docs_link_labels_and_guide_sections(slug):
    """A docs link, a label and help for every field, and three non-empty guide sections."""
    spec = SPECS[slug]
    assert spec.api_docs.startswith("https://"), slug
    for field in spec.fields:
        assert field.label.strip() and field.help.strip(), f"{slug}: {field.key}"
        if field.choices:
            assert all(label.strip() for label in field.choices), f"{slug}: {field.key}"
    assert set(spec.guide) == {"requirements", "credentials", "account_setup"}, slug
    assert all(text.strip() for text in spec.guide.values()), slug


def test_the_audited_fixes_are_in_the_catalogue():
    """The issue's fixes: Salesforce expiry and instance URL, Slack verify, QuickBooks realmId,
    Notion refresh/headers, Asana scopes, region selects."""
    salesforce = SPECS["salesforce"]
    assert salesforce.api.base_url == "{instance_url}/services/data/v61.0"
    assert salesforce.field("instance_url").capture_from == "token.instance_url"
    assert salesforce.field("instance_url").is_origin
    assert SPECS["slack"].api.verify_expect == {"ok": True}
    realm = SPECS["quickbooks-online"].field("realm_id")
    assert (realm.level, realm.capture_from) == ("captured", "callback.realmId")
    assert SPECS["notion"].api.headers == {"Notion-Version": "2022-06-28"}
    assert SPECS["notion"].verify_request == ("GET", "/users/me")
    assert SPECS["asana"].auth.scopes and SPECS["calendly"].auth.scopes
    assert SPECS["mailgun"].field("region").choices == {"US": "api.mailgun.net",
                                                        "EU": "api.eu.mailgun.net"}
    assert "api.eu.intercom.io" in SPECS["intercom"].field("region").choices.values()
    assert SPECS["zoho-crm"].field("api_domain").is_origin
    assert "accounts.zoho.eu" in SPECS["zoho-crm"].field("data_centre").choices.values()
