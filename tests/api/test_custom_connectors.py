"""Custom connectors by API (issue 20 §1): created from an issuer URL against the sandbox
and used end to end, changed, retired, deleted; invisible to another partner; hostile
definitions refused with the key named, nothing saved."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import Action, AuditEvent
from connectors.models import Connector, PartnerAuthSettings
from installs.models import Install
from sandbox import services as sandbox
from sandbox.models import SandboxToken
from tests.api.helpers import bearer, call, make_key
from tests.factories import callback_for, path_and_query, query

ISSUER = "http://testserver/sandbox"
SLUG = "acme-sandbox"
PUBLIC = "https://93.184.216.34"  # an IP literal: checked without DNS


def definition(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "acme-crm", "name": "Acme CRM", "description": "Our own CRM.",
        "auth": {"type": "oauth2", "authorize_url": f"{PUBLIC}/oauth/authorize",
                 "token_url": f"{PUBLIC}/oauth/token", "scopes": ["read"]},
        "api": {"base_url": f"{PUBLIC}/api", "verify": "GET /me"},
    }
    data.update(changes)
    return data


@pytest.fixture
def sandbox_user(db):
    return sandbox.create_user(username="sandy", password="fake-password-123",
                               api_key="fake-api-key-123")


def customer_signs_in(link_url: str, slug: str) -> str:
    """The customer connects `slug` through the link and allows; the authorize URL."""
    from django.test import Client

    browser = Client()
    landing = path_and_query(link_url)
    assert browser.get(landing).status_code == 200
    start = browser.post(f"{landing}connect/{slug}/")
    assert start.status_code == 302, start
    provider = path_and_query(start["Location"])
    assert browser.get(provider).status_code == 200
    back = browser.post(provider, {"decision": "allow"})
    assert back.status_code == 302
    assert browser.get(path_and_query(back["Location"])).status_code == 302
    return provider


def test_walkthrough_custom_connector_from_the_issuer_url(partner, sandbox_transport,
                                                          sandbox_user):
    """Issuer URL → custom connector → settings → link with scopes → consent → scopes,
    credentials, proxy, force_refresh → deleting the install revokes at the sandbox."""
    api = bearer(make_key(partner)[1])
    assert Client_get_metadata(api)
    code, body = call(api, "post", "/api/v1/connectors", {
        "slug": SLUG, "name": "Acme's sandbox", "description": "Our second sandbox app.",
        "auth": {"type": "oauth2", "issuer": ISSUER, "scopes": ["read"]},
        "api": {"base_url": "{public_url}/sandbox/api", "verify": "GET /me"}})
    assert code == 201, body.get("errors")
    assert body["source"] == "custom" and body["callback_url"] == callback_for(SLUG)
    auth = body["definition"]["auth"]
    assert auth["authorize_url"] == "{public_url}/sandbox/oauth2/authorize"
    assert auth["token_url"] == "{public_url}/sandbox/oauth2/token"
    assert auth["revoke_url"] == "{public_url}/sandbox/oauth2/revoke"
    assert auth["pkce"] is True and auth["token_auth"] == "client_secret_basic"
    assert {s["scope"] for s in auth["optional_scopes"]} >= {"profile", "email"}
    assert [f["key"] for f in body["fields"]] == ["client_id", "client_secret"]
    assert AuditEvent.objects.filter(action=Action.CONNECTOR_CREATED,
                                     partner=partner).count() == 1

    client_id, secret = sandbox.register_client(name="Acme", redirect_uri=callback_for(SLUG))
    code, body = call(api, "put", f"/api/v1/connectors/{SLUG}/settings",
                      {"values": {"client_id": client_id, "client_secret": secret}})
    assert code == 200 and body["configured"] is True, body

    assert call(api, "post", "/api/v1/accounts", {"name": "Initech",
                                                  "external_id": "cust-1"})[0] == 201
    code, link = call(api, "post", "/api/v1/accounts/cust-1/install-links",
                      {"connectors": [SLUG], "scopes": {SLUG: ["read", "profile"]}})
    assert code == 201, link
    provider = customer_signs_in(link["url"], SLUG)
    assert query(provider)["scope"] == "read profile"  # what the sandbox was asked

    install_id = call(api, "get", "/api/v1/accounts/cust-1/installs")[1]["results"][0]["id"]
    code, one = call(api, "get", f"/api/v1/installs/{install_id}")
    assert one["status"] == "authenticated" and one["connector"] == SLUG
    assert one["requested_scopes"] == one["granted_scopes"] == ["read", "profile"]

    credentials = call(api, "get", f"/api/v1/installs/{install_id}/credentials")[1]
    token = credentials["credentials"]["access_token"]
    assert api.get(f"/api/v1/proxy/{install_id}/me").status_code == 200
    before = sandbox.refresh_count()
    fresh = call(api, "get", f"/api/v1/installs/{install_id}/credentials?force_refresh=true")
    assert sandbox.refresh_count() == before + 1
    assert fresh[1]["credentials"]["access_token"] != token

    assert call(api, "delete", f"/api/v1/installs/{install_id}")[0] == 204
    assert not SandboxToken.objects.filter(revoked_at__isnull=True).exists()


def Client_get_metadata(api) -> bool:  # noqa: N802 - reads as the step it is
    """The sandbox serves RFC 8414 metadata at the path-inserted well-known URL."""
    from django.test import Client

    metadata = Client().get("/.well-known/oauth-authorization-server/sandbox").json()
    return metadata["issuer"] == ISSUER and metadata["token_endpoint"].endswith("/token")


def test_create_answers_the_stored_definition_and_lists_by_source(api, partner):
    code, body = call(api, "post", "/api/v1/connectors", definition())
    assert code == 201, body
    assert body["definition"]["slug"] == "acme-crm" and body["source"] == "custom"
    code, page = call(api, "get", "/api/v1/connectors?source=custom")
    assert [c["slug"] for c in page["results"]] == ["acme-crm"]
    code, page = call(api, "get", "/api/v1/connectors?source=catalogue")
    assert "acme-crm" not in [c["slug"] for c in page["results"]]


def test_change_retire_and_delete(api, partner):
    call(api, "post", "/api/v1/connectors", definition())
    code, body = call(api, "patch", "/api/v1/connectors/acme-crm",
                      {"description": "Changed.", "auth": {"scopes": ["read", "write"]}})
    assert code == 200 and body["description"] == "Changed.", body
    event = AuditEvent.objects.filter(action=Action.CONNECTOR_UPDATED).get()
    assert event.detail["keys"] == ["auth.scopes", "description"]
    code, body = call(api, "post", "/api/v1/connectors/acme-crm/retire")
    assert code == 200 and body["retired"] is True
    assert call(api, "get", "/api/v1/connectors/acme-crm")[0] == 404  # hidden from the library
    code, body = call(api, "post", "/api/v1/connectors/acme-crm/restore")
    assert code == 200 and body["retired"] is False, body
    assert Connector.objects.get(slug="acme-crm").retired_at is None
    assert call(api, "get", "/api/v1/connectors/acme-crm")[0] == 200  # offered again
    restored = AuditEvent.objects.filter(action=Action.CONNECTOR_UPDATED,
                                         detail__keys=["retired"]).get()
    assert restored.actor_label and restored.partner_id == partner.pk
    code, body = call(api, "post", "/api/v1/connectors/acme-crm/restore")  # not retired
    assert code == 200 and body["retired"] is False
    assert AuditEvent.objects.filter(detail__keys=["retired"]).count() == 1  # no change
    assert call(api, "delete", "/api/v1/connectors/acme-crm")[0] == 204
    assert not Connector.objects.filter(slug="acme-crm").exists()
    assert AuditEvent.objects.filter(action=Action.CONNECTOR_DELETED,
                                     detail__slug="acme-crm").exists()
    code, events = call(api, "get", "/api/v1/events")
    assert code == 200, events
    assert {"connector.created", "connector.updated", "connector.retired",
            "connector.deleted"} <= {e["action"] for e in events["results"]}


def test_delete_with_installs_is_409_and_retired_installs_keep_working(api, partner):
    from accounts.models import Account

    call(api, "post", "/api/v1/connectors", definition())
    connector = Connector.objects.get(slug="acme-crm")
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account, connector=connector)
    code, body = call(api, "delete", "/api/v1/connectors/acme-crm")
    assert code == 409 and body["installs"] == 1
    assert Connector.objects.filter(pk=connector.pk).exists()
    call(api, "post", "/api/v1/connectors/acme-crm/retire")
    assert call(api, "get", f"/api/v1/installs/{install.pk}")[0] == 200


def test_breaking_change_is_refused_with_the_reason(api, partner):
    from accounts.models import Account

    call(api, "post", "/api/v1/connectors", definition())
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    Install.objects.create(account=account, connector=Connector.objects.get(slug="acme-crm"))
    code, body = call(api, "put", "/api/v1/connectors/acme-crm", definition(
        auth={"type": "api_key", "header": "X-Key"},
        fields=[{"key": "api_key", "label": "API key", "level": "account", "secret": True}]))
    assert code == 422 and list(body["errors"]) == ["auth.type"], body
    assert Connector.objects.get(slug="acme-crm").auth_type == "oauth2"


def test_catalogue_connectors_are_403_to_changes(api, partner):
    from tests.factories import catalogue_connector

    catalogue_connector("sandbox-oauth2")
    for method in ("put", "patch", "delete"):
        assert call(api, method, "/api/v1/connectors/sandbox-oauth2", {})[0] == 403
    assert call(api, "post", "/api/v1/connectors/sandbox-oauth2/retire")[0] == 403
    code, body = call(api, "post", "/api/v1/connectors/sandbox-oauth2/restore")
    assert code == 403 and "Catalogue connectors cannot be changed" in body["detail"], body


def test_slug_of_a_catalogue_connector_or_own_is_refused(api, partner):
    from tests.factories import catalogue_connector

    catalogue_connector("sandbox-oauth2")
    for slug in ("sandbox-oauth2", "x", "Bad_Slug", "-lead"):
        code, body = call(api, "post", "/api/v1/connectors", definition(slug=slug))
        assert code == 422 and list(body["errors"]) == ["slug"], (slug, body)
    assert call(api, "post", "/api/v1/connectors", definition())[0] == 201
    code, body = call(api, "post", "/api/v1/connectors", definition())
    assert code == 422 and list(body["errors"]) == ["slug"]


def test_configure_scope_is_required_to_change(partner):
    manage_only = bearer(make_key(partner, "manage")[1])
    assert call(manage_only, "post", "/api/v1/connectors", definition())[0] == 403
    assert call(manage_only, "get", "/api/v1/connectors")[0] == 200
    configure_only = bearer(make_key(partner, "configure", name="Configurer")[1])
    code, body = call(configure_only, "post", "/api/v1/connectors", definition())
    assert code == 201 and body["slug"] == "acme-crm"
    assert call(configure_only, "get", "/api/v1/connectors/acme-crm")[0] == 403  # Manage reads
    assert call(configure_only, "post", "/api/v1/connectors/acme-crm/retire")[0] == 200
    assert call(manage_only, "post", "/api/v1/connectors/acme-crm/restore")[0] == 403
    assert Connector.objects.get(slug="acme-crm").retired_at is not None  # still retired
    assert call(configure_only, "post", "/api/v1/connectors/acme-crm/restore")[0] == 200


# --- isolation ---------------------------------------------------------------------------


def test_another_partner_gets_404_everywhere(api, other_api, partner, other_partner):
    from accounts.models import Account

    call(api, "post", "/api/v1/connectors", definition())
    connector = Connector.objects.get(slug="acme-crm")
    PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                       values={"client_id": "fake-id"})
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account, connector=connector)
    Account.objects.create(partner=other_partner, name="Hooli", external_id="cust-1")

    assert call(other_api, "get", "/api/v1/connectors/acme-crm")[0] == 404
    assert "acme-crm" not in [c["slug"] for c in call(other_api, "get",
                                                        "/api/v1/connectors")[1]["results"]]
    for method in ("put", "patch", "delete"):
        assert call(other_api, method, "/api/v1/connectors/acme-crm", definition())[0] == 404
    assert call(other_api, "post", "/api/v1/connectors/acme-crm/retire")[0] == 404
    call(api, "post", "/api/v1/connectors/acme-crm/retire")
    assert call(other_api, "post", "/api/v1/connectors/acme-crm/restore")[0] == 404
    assert Connector.objects.get(pk=connector.pk).retired_at is not None
    call(api, "post", "/api/v1/connectors/acme-crm/restore")
    assert call(other_api, "get", "/api/v1/connectors/acme-crm/settings")[0] == 404
    assert call(other_api, "put", "/api/v1/connectors/acme-crm/settings",
                {"values": {"client_id": "x"}})[0] == 404
    code, body = call(other_api, "post", "/api/v1/accounts/cust-1/installs",
                      {"connector": "acme-crm"})
    assert code == 400 and "connector" in body["errors"], body
    code, body = call(other_api, "post", "/api/v1/accounts/cust-1/install-links",
                      {"connectors": ["acme-crm"]})
    assert code == 400, body
    assert other_api.get(f"/api/v1/proxy/{install.pk}/me").status_code == 404
    assert call(other_api, "get", f"/api/v1/installs/{install.pk}")[0] == 404
    # The same slug is free for the other partner: its own, separate connector.
    assert call(other_api, "post", "/api/v1/connectors", definition())[0] == 201
    assert Connector.objects.filter(slug="acme-crm").count() == 2
    assert call(api, "get", "/api/v1/connectors/acme-crm")[1]["name"] == "Acme CRM"


# --- hostile definitions -----------------------------------------------------------------


@pytest.fixture
def production(settings):
    settings.ALLOW_LOCAL_PROVIDERS = False


@pytest.mark.parametrize(("auth", "key"), [
    ({"token_url": "https://10.0.0.8/token"}, "auth.token_url"),
    ({"token_url": "https://127.0.0.1/token"}, "auth.token_url"),
    ({"authorize_url": "https://localhost/authorize"}, "auth.authorize_url"),
    ({"authorize_url": "https://169.254.169.254/latest"}, "auth.authorize_url"),
    ({"token_url": "https://[::1]/token"}, "auth.token_url"),
    ({"token_url": "http://93.184.216.34/token"}, "auth.token_url"),
    ({"token_url": "{public_url}/admin/"}, "auth.token_url"),
])
def test_private_loopback_and_http_urls_are_refused(api, production, auth, key):
    data = definition()
    data["auth"] = {**data["auth"], **auth}
    code, body = call(api, "post", "/api/v1/connectors", data)
    assert code == 422 and list(body["errors"]) == [key], body
    assert not Connector.objects.exists()


def test_a_private_api_base_url_is_refused(api, production):
    code, body = call(api, "post", "/api/v1/connectors",
                      definition(api={"base_url": "https://192.168.1.1/api"}))
    assert code == 422 and list(body["errors"]) == ["api.base_url"], body


def test_a_catastrophic_regex_is_refused(api):
    code, body = call(api, "post", "/api/v1/connectors", definition(fields=[
        {"key": "client_id", "label": "Client ID", "pattern": "(a+)+\\1$"}]))
    assert code == 422 and list(body["errors"]) == ["fields[0].pattern"], body
    assert not Connector.objects.exists()


def test_a_definition_over_64_kb_is_refused_and_a_1_mb_body_too(api):
    code, body = call(api, "post", "/api/v1/connectors",
                      definition(guide={"requirements": "x" * 70_000}))
    assert code == 422 and list(body["errors"]) == ["(definition)"], body
    response = api.post("/api/v1/connectors", definition(guide={"requirements": "x" * 2**20}),
                        content_type="application/json")
    assert response.status_code == 413
    assert not Connector.objects.exists()


def test_errors_name_the_key(api):
    data = definition()
    del data["auth"]["token_url"]
    code, body = call(api, "post", "/api/v1/connectors", data)
    assert code == 422 and list(body["errors"]) == ["auth.token_url"], body
    code, body = call(api, "post", "/api/v1/connectors", definition(categories=["Made up"]))
    assert code == 422 and list(body["errors"]) == ["categories[0]"], body


def test_a_failed_discovery_is_refused_with_the_issuer_key(api, sandbox_transport):
    code, body = call(api, "post", "/api/v1/connectors", definition(
        auth={"type": "oauth2", "issuer": "http://testserver/nothing-here"}))
    assert code == 422 and list(body["errors"]) == ["auth.issuer"], body
    assert not Connector.objects.exists()
