"""Custom connectors in the console (issue 20 §1): Connectors › Custom connectors; admins
create (form, Discover, Start from a catalogue connector, Paste TOML), edit, retire and
delete; viewers read; another partner gets 404; hostile text comes out escaped."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from audit.models import Action, AuditEvent
from connectors import custom
from connectors.models import Category, Connector
from installs.models import Install
from tests.factories import catalogue_connector, make_link

PUBLIC = "https://93.184.216.34"
NEW = "/connectors/custom/new/"


def form_data(**changes: str) -> dict[str, str]:
    data = {"name": "Acme CRM", "slug": "acme-crm", "description": "Our own CRM.",
            "category": "", "auth_type": "oauth2", "issuer": "",
            "authorize_url": f"{PUBLIC}/oauth/authorize", "token_url": f"{PUBLIC}/oauth/token",
            "revoke_url": "", "request_token_url": "", "access_token_url": "", "pkce": "on",
            "token_auth": "client_secret_post", "scopes": "read write",
            "optional_scopes": "admin Administer everything", "api_key_header": "",
            "field_tables": "", "api_base_url": f"{PUBLIC}/api", "api_verify": "GET /me",
            "api_headers": "Accept: application/json"}
    data.update(changes)
    return {f"form-{key}": value for key, value in data.items()}


def make_custom(partner, **changes: Any) -> Connector:
    data: dict[str, Any] = {
        "slug": "acme-crm", "name": "Acme CRM", "description": "Our own CRM.",
        "auth": {"type": "oauth2", "authorize_url": f"{PUBLIC}/oauth/authorize",
                 "token_url": f"{PUBLIC}/oauth/token"}}
    data.update(changes)
    return custom.create(partner=partner, data=data, actor=None)


def test_admin_creates_by_the_form_with_default_fields(admin_client, partner):
    response = admin_client.post(NEW, form_data())
    assert response.status_code == 302, response.context["form"].errors
    connector = Connector.objects.get(slug="acme-crm")
    assert connector.owner == partner and response["Location"] == "/connectors/acme-crm/settings/"
    spec = connector.spec
    assert [f.key for f in spec.fields] == ["client_id", "client_secret"]
    assert spec.fields[1].secret and spec.auth.scopes == ("read", "write")
    assert spec.auth.optional_scopes[0].scope == "admin"
    assert spec.api.headers == {"Accept": "application/json"}
    assert AuditEvent.objects.filter(action=Action.CONNECTOR_CREATED, connector=connector).exists()
    assert "New custom connector" in admin_client.get("/connectors/custom/").content.decode()
    page = admin_client.get("/connectors/").content.decode()
    assert "Acme CRM" in page and "status-custom" in page
    assert "Setup Required" in page  # the padlock, as for catalogue connectors
    page = admin_client.get("/connectors/acme-crm/guide/").content.decode()
    assert "Acme CRM Authentication Setup Guide" in page
    assert admin_client.get("/connectors/acme-crm/settings/").status_code == 200


def test_the_library_source_filter(admin_client, partner):
    make_custom(partner)
    catalogue_connector("sandbox-api-key")
    custom_only = admin_client.get("/connectors/", {"source": "custom"}).content.decode()
    assert 'id="connector-acme-crm"' in custom_only
    assert 'id="connector-sandbox-api-key"' not in custom_only
    catalogue_only = admin_client.get("/connectors/", {"source": "catalogue"}).content.decode()
    assert 'id="connector-acme-crm"' not in catalogue_only
    assert 'id="connector-sandbox-api-key"' in catalogue_only


def test_form_refusals_name_the_key_and_save_nothing(admin_client):
    response = admin_client.post(NEW, form_data(token_url="http://93.184.216.34/token"))
    assert response.status_code == 200
    assert "auth.token_url: must be an https:// URL" in response.context["form"].errors[
        "token_url"][0]
    response = admin_client.post(NEW, form_data(field_tables="[[fields]]\nkey = 'client_id'"))
    assert any("fields[0].label" in e for e in response.context["form"].errors["field_tables"])
    assert not Connector.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.CONNECTOR_CREATED).exists()


def test_discover_fills_the_form_from_the_issuer(admin_client, sandbox_transport):
    response = admin_client.post(NEW, {**form_data(issuer="http://testserver/sandbox",
                                                   authorize_url="", token_url="",
                                                   scopes="read"), "discover": "1"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form["authorize_url"].value() == "{public_url}/sandbox/oauth2/authorize"
    assert form["revoke_url"].value() == "{public_url}/sandbox/oauth2/revoke"
    assert form["token_auth"].value() == "client_secret_basic"
    assert "profile" in form["optional_scopes"].value()
    assert not Connector.objects.exists()  # nothing saved by Discover


def test_start_from_a_catalogue_connector_then_paste_toml(admin_client, partner):
    Category.objects.create(name="Sandbox").connectors.add(
        catalogue_connector("sandbox-oauth2"))
    response = admin_client.get(NEW, {"start-connector": "sandbox-oauth2"})
    toml_form = response.context["toml_form"]
    assert toml_form["slug"].value() == "my-sandbox-oauth2"
    assert 'token_url = "{public_url}/sandbox/oauth2/token"' in toml_form["toml"].value()
    # "sandbox-" is the sandbox's prefix: the copy takes another slug.
    response = admin_client.post(NEW, {"toml-slug": "acme-sandbox",
                                       "toml-toml": toml_form["toml"].value()})
    assert response.status_code == 302, response.context["toml_form"].errors
    assert Connector.objects.get(slug="acme-sandbox").owner == partner


def test_paste_toml_errors_name_the_key(admin_client):
    response = admin_client.post(NEW, {"toml-slug": "acme-crm", "toml-toml": "name = "})
    assert "(syntax)" in response.context["toml_form"].errors["toml"][0]
    response = admin_client.post(NEW, {"toml-slug": "acme-crm", "toml-toml": (
        'name = "A"\ndescription = "B"\n[auth]\ntype = "oauth2"\n'
        f'authorize_url = "{PUBLIC}/a"\n')})
    assert response.context["toml_form"].errors["toml"] == [
        "auth.token_url: is required for oauth2"]
    assert not Connector.objects.exists()


def test_admin_edits_retires_and_deletes(admin_client, partner):
    connector = make_custom(partner)
    detail = f"/connectors/custom/{connector.slug}/"
    toml = admin_client.get(detail).context["form"]["toml"].value()
    response = admin_client.post(detail, {"toml-toml": toml.replace("Our own CRM.", "Changed.")})
    assert response.status_code == 302
    assert Connector.objects.get(pk=connector.pk).description == "Changed."
    assert AuditEvent.objects.get(action=Action.CONNECTOR_UPDATED).detail["keys"] == [
        "description"]
    page = admin_client.get(detail).content.decode()
    assert "Custom connector changed" in page and "alice@acme.test" in page
    admin_client.post(f"{detail}retire/")
    assert Connector.objects.get(pk=connector.pk).retired_at is not None
    assert 'id="connector-acme-crm"' not in admin_client.get("/connectors/").content.decode()
    assert admin_client.get("/connectors/acme-crm/settings/").status_code == 404
    assert admin_client.post(f"{detail}delete/").status_code == 302
    assert not Connector.objects.filter(pk=connector.pk).exists()


def test_delete_with_installs_is_refused(admin_client, partner):
    connector = make_custom(partner)
    account = Account.objects.create(partner=partner, name="Initech", external_id="c-1")
    Install.objects.create(account=account, connector=connector)
    response = admin_client.post(f"/connectors/custom/{connector.slug}/delete/", follow=True)
    assert "retire it instead" in response.content.decode()
    assert Connector.objects.filter(pk=connector.pk).exists()


def test_viewers_read_and_cannot_change(viewer_client, partner):
    connector = make_custom(partner)
    listing = viewer_client.get("/connectors/custom/").content.decode()
    assert "Acme CRM" in listing and "New custom connector" not in listing
    page = viewer_client.get(f"/connectors/custom/{connector.slug}/").content.decode()
    assert "token_url" in page and "Save Changes" not in page
    assert viewer_client.get(NEW).status_code == 403
    assert viewer_client.post(NEW, form_data(slug="other")).status_code == 403
    for action in ("", "retire/", "delete/"):
        assert viewer_client.post(f"/connectors/custom/{connector.slug}/{action}").status_code \
            == 403
    assert Connector.objects.get(pk=connector.pk).retired_at is None


def test_another_partner_gets_404_in_the_console(other_client, partner, other_partner):
    connector = make_custom(partner)
    for path in (f"/connectors/custom/{connector.slug}/", "/connectors/acme-crm/settings/",
                 "/connectors/acme-crm/guide/"):
        assert other_client.get(path).status_code == 404, path
    for action in ("", "retire/", "delete/"):
        assert other_client.post(f"/connectors/custom/{connector.slug}/{action}").status_code \
            == 404
    assert "Acme CRM" not in other_client.get("/connectors/").content.decode()
    assert "Acme CRM" not in other_client.get("/connectors/custom/").content.decode()
    assert "Acme CRM" not in other_client.get("/connectors/guides/").content.decode()
    account = Account.objects.create(partner=other_partner, name="Hooli", external_id="c-9")
    assert other_client.get(f"/accounts/{account.pk}/install/acme-crm/").status_code == 404


def test_another_partners_install_link_cannot_reach_it(client, partner, other_partner):
    make_custom(partner)
    catalogue_connector("sandbox-api-key")
    account = Account.objects.create(partner=other_partner, name="Hooli", external_id="c-9")
    _, token = make_link(account, [Connector.objects.get(slug="sandbox-api-key")])
    response = client.post(f"/install/{token}/connect/acme-crm/")
    assert response.status_code == 404


def test_script_in_the_name_and_guide_comes_out_escaped(admin_client, partner):
    make_custom(partner, name="<script>alert(1)</script>",
                guide={"requirements": "<script>alert(2)</script>"})
    for path in ("/connectors/", "/connectors/custom/", "/connectors/acme-crm/guide/",
                 "/connectors/custom/acme-crm/"):
        page = admin_client.get(path).content.decode()
        assert "<script>alert" not in page, path
        assert "&lt;script&gt;alert(1)" in page, path


def test_sync_keeps_the_partners_own_and_warns(partner, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    make_custom(partner, slug="github-x")
    Connector.objects.filter(slug="github-x").update(slug="github")
    stderr = StringIO()
    call_command("sync_connectors", stdout=StringIO(), stderr=stderr)
    assert "partner 'Acme Cloud' has a custom connector 'github'" in stderr.getvalue()
    assert Connector.objects.filter(slug="github").count() == 2
    assert Connector.objects.visible_to(partner).get(slug="github").owner == partner
    assert Connector.objects.visible_to(None).get(slug="github").owner is None


@pytest.mark.parametrize("slug", ["custom", "new", "sandbox-x", "a"])
def test_reserved_and_short_slugs_are_refused(partner, slug):
    with pytest.raises(custom.DefinitionError) as refused:
        make_custom(partner, slug=slug)
    assert list(refused.value.errors) == ["slug"]


def test_a_partner_is_deleted_with_its_custom_connectors_and_their_settings(partner):
    from connectors.models import PartnerAuthSettings

    connector = make_custom(partner)
    PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                       values={"client_id": "fake-id"})
    partner.delete()
    assert not Connector.objects.filter(pk=connector.pk).exists()


def test_nul_in_a_pasted_definition_is_refused(admin_client):
    """TOML may escape a NUL ("\\u0000"); PostgreSQL could not store it: refused, named."""
    response = admin_client.post(NEW, {"toml-slug": "acme-crm", "toml-toml": (
        'name = "A"\ndescription = "B"\n[auth]\ntype = "none"\n'
        '[guide]\nrequirements = "x\\u0000y"\n')})
    assert response.context["toml_form"].errors["toml"] == [
        "(definition): must not contain NUL characters"]
    assert not Connector.objects.exists()
