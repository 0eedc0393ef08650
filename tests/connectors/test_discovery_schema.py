"""The catalogue keys of OAuth 2.0 by discovery, dynamic registration and MCP servers
(docs/catalogue.md): what is accepted, and each mistake refused with its dotted key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connectors import hosts
from connectors.discovery import DiscoveryError, ServerMetadata, server_metadata, well_known
from connectors.registration import MCP_AUTH_METHOD_PREFERENCE, chosen_auth_method
from connectors.spec import CatalogError, parse
from connectors.sync import needs_partner_settings

ISSUER = {"name": "Acme", "description": "Acme by discovery.",
          "auth": {"type": "oauth2", "issuer": "https://auth.acme.example",
                   "registration": "dynamic", "pkce": True}}
MCP = {"name": "Any MCP", "description": "An MCP server.",
       "auth": {"type": "oauth2", "discovery": "protected_resource", "registration": "dynamic"},
       "fields": [{"key": "server_url", "label": "MCP server URL", "level": "account",
                   "kind": "server_url"}]}


def test_an_issuer_with_dynamic_registration_needs_no_endpoint_nor_client_field():
    spec = parse("acme.toml", copy.deepcopy(ISSUER))
    assert spec.auth.discovers and spec.auth.registration == "dynamic"
    assert needs_partner_settings(ISSUER) is False  # Ready: no padlock


def test_an_mcp_entry_takes_a_server_url_field_or_a_fixed_server_url():
    assert parse("mcp.toml", copy.deepcopy(MCP)).server_url_field is not None
    fixed = copy.deepcopy(MCP)
    fixed.pop("fields")
    fixed["auth"]["server_url"] = "https://mcp.acme.example/mcp"
    assert parse("mcp.toml", fixed).auth.discovers


def edited(base: dict[str, Any], edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    edit(data)
    return data


@pytest.mark.parametrize(("data", "key", "message"), [
    (edited(ISSUER, lambda d: d["auth"].pop("issuer")), "auth.registration",
     "'dynamic' needs an issuer"),
    (edited(ISSUER, lambda d: d["auth"].update(type="oauth2_client_credentials",
                                               token_url="https://auth.acme.example/t")),
     "auth.registration", "does not apply"),
    (edited(ISSUER, lambda d: d.update(fields=[{"key": "client_id", "label": "Client ID"}])),
     "fields", "comes from the dynamic registration"),
    (edited(ISSUER, lambda d: d["auth"].update(token_url="https://auth.acme.example/t")),
     "auth.token_url", "declare both"),
    (edited(MCP, lambda d: d["auth"].update(registration="static")), "auth.registration",
     "must be 'dynamic'"),
    (edited(MCP, lambda d: d.pop("fields")), "fields", "exactly one field"),
    (edited(MCP, lambda d: d["auth"].update(server_url="https://mcp.acme.example/mcp")),
     "fields", "not both"),
    (edited(MCP, lambda d: d["auth"].update(issuer="https://auth.acme.example")),
     "auth.discovery", "declare none"),
    (edited(MCP, lambda d: d["fields"][0].update(level="partner")), "fields[0].kind",
     "account-level"),
    (edited(MCP, lambda d: d["auth"].pop("discovery")), "auth.registration",
     "'dynamic' needs"),
    (edited(ISSUER, lambda d: d["auth"].update(server_url="https://mcp.acme.example/mcp")),
     "auth.server_url", "needs discovery"),
    (edited(MCP, lambda d: d["auth"].update(server_url="http://mcp.acme.example/mcp")
            or d.pop("fields")), "auth.server_url", "https"),
])
def test_mistakes_are_refused_with_their_key(data, key, message):
    with pytest.raises(CatalogError) as raised:
        parse("acme.toml", data)
    assert raised.value.key == key and message in str(raised.value)


def test_well_known_urls_insert_the_suffix_before_the_path():
    """RFC 8414 §3.1 and RFC 9728 §3.1."""
    assert (well_known("https://a.example/tenant/1", "oauth-authorization-server")
            == "https://a.example/.well-known/oauth-authorization-server/tenant/1")
    assert (well_known("https://mcp.example/mcp", "oauth-protected-resource")
            == "https://mcp.example/.well-known/oauth-protected-resource/mcp")
    assert (well_known("https://a.example/", "oauth-authorization-server")
            == "https://a.example/.well-known/oauth-authorization-server")


@pytest.mark.parametrize(("document", "message"), [
    ({"issuer": "https://localhost/", "authorization_endpoint": "https://localhost/a",
      "token_endpoint": "https://localhost/t"}, "another issuer"),  # not character for character
    ({"issuer": "https://localhost", "authorization_endpoint": "https://localhost/a",
      "token_endpoint": "https://localhost/t", "code_challenge_methods_supported": ["plain"]},
     "S256"),
    ({"issuer": "https://localhost", "authorization_endpoint": "https://u:p@a.example/a",
      "token_endpoint": "https://localhost/t"}, "authorization_endpoint"),
    ({"issuer": "https://localhost", "authorization_endpoint": "https://localhost/a",
      "token_endpoint": ["https://localhost/t"]}, "token_endpoint"),
])
def test_unusable_metadata_is_refused(document, message, settings):
    settings.ALLOW_LOCAL_PROVIDERS = True  # localhost stands in for a public host
    with pytest.raises(DiscoveryError, match=message):
        server_metadata(document, "https://localhost")


# --- the server URL a customer enters (installs/forms.py) ---------------------------------


@pytest.mark.parametrize(("value", "message"), [
    ("https://mcp.acme.example/mcp", ""),
    ("http://mcp.acme.example/mcp", hosts.NOT_HTTPS),
    ("https://user:pw@mcp.acme.example/mcp", hosts.HAS_USERINFO),
    ("https://mcp.acme.example/mcp?x=1", hosts.HAS_EXTRAS),
    ("https://mcp.acme.example/mcp#frag", hosts.HAS_EXTRAS),
    ("https://10.0.0.8/mcp", hosts.NOT_PUBLIC),
    ("https://127.0.0.1/mcp", hosts.NOT_PUBLIC),
    ("https://[::1]/mcp", hosts.NOT_PUBLIC),
    ("https://169.254.169.254/mcp", hosts.NOT_PUBLIC),
    ("https://1.1.1.1/mcp", ""),
    ("mcp.acme.example", hosts.NOT_HTTPS),
])
def test_the_install_form_refuses_unsafe_server_urls(value, message, partner, settings):
    """The same rules and messages as a base URL's (connectors/hosts.py); no name is
    looked up where it is entered."""
    from installs.forms import InstallForm
    from tests.factories import make_connector

    settings.ALLOW_LOCAL_PROVIDERS = False
    connector = make_connector("any-mcp", copy.deepcopy(MCP))
    form = InstallForm({"install_name": "", "server_url": value}, connector=connector,
                       partner=partner)
    assert form.is_valid() is (message == "")
    if message:
        assert form.errors["server_url"] == [message]


# --- the client authentication a registration asks for (connectors/registration.py) ------


@pytest.mark.parametrize(("offered", "ordinary", "mcp"), [
    (("client_secret_basic", "client_secret_post"), "client_secret_basic", "client_secret_post"),
    (("client_secret_post", "client_secret_basic", "none"), "client_secret_basic",
     "client_secret_post"),
    (("client_secret_basic",), "client_secret_basic", "client_secret_basic"),
    (("none",), "none", "none"),
])
def test_registration_asks_basic_first_but_the_body_first_for_an_mcp_server(offered, ordinary,
                                                                            mcp):
    """RFC 6749 §2.3.1 recommends HTTP Basic; an MCP server's authorization server (the
    `mcp` SDK's refuses Basic at revocation: tests/interop/test_mcp_sdk.py) gets
    client_secret_post first. Either falls back to what the server offers."""
    metadata = ServerMetadata(issuer="https://auth.acme.example",
                              authorization_endpoint="https://auth.acme.example/a",
                              token_endpoint="https://auth.acme.example/t",
                              token_endpoint_auth_methods=offered)
    assert chosen_auth_method(metadata) == ordinary
    assert chosen_auth_method(metadata, MCP_AUTH_METHOD_PREFERENCE) == mcp


def test_registration_refuses_a_server_offering_no_method_we_have():
    metadata = ServerMetadata(issuer="https://auth.acme.example",
                              authorization_endpoint="https://auth.acme.example/a",
                              token_endpoint="https://auth.acme.example/t",
                              token_endpoint_auth_methods=("private_key_jwt",))
    with pytest.raises(DiscoveryError, match="offers no client authentication"):
        chosen_auth_method(metadata, MCP_AUTH_METHOD_PREFERENCE)
