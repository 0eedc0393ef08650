"""GET|PUT|DELETE /api/v1/connectors/{slug}/settings: the partner's Authentication
Settings by API (scope Configure), validated like the console, never a secret value."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from api.models import ApiKey
from audit.models import Action, AuditEvent
from connectors.models import PartnerAuthSettings
from installs.models import Install
from tests.api.helpers import assert_problem, bearer, call, make_key
from tests.factories import account, make_connector, new_install, oauth2_data, save_settings

SECRET = "fake-client-secret-sec-777"
URL = "/api/v1/connectors/widgets/settings"


@pytest.fixture
def widgets(db):
    """An OAuth 2.0 connector with a partner-level pattern field besides the client pair."""
    data = oauth2_data("Widgets")
    data["fields"].append({"key": "tenant", "label": "Tenant", "pattern": "^[a-z]+$"})
    return make_connector("widgets", data)


@pytest.fixture
def saved(partner, widgets):
    return save_settings(partner, widgets, {"client_id": "fake-client-id", "tenant": "acme"},
                         {"client_secret": SECRET})


def stored(partner, connector) -> PartnerAuthSettings:
    return PartnerAuthSettings.objects.get(partner=partner, connector=connector)


def test_get_shows_values_and_never_a_secret(api, saved):
    """Non-secret values and which secrets are set; the secret itself is not in the body."""
    response = api.get(URL)
    body = response.json()
    assert response.status_code == 200 and SECRET not in response.content.decode()
    assert body["configured"] is True
    assert body["values"] == {"client_id": "fake-client-id", "tenant": "acme"}
    assert body["secrets_set"] == ["client_secret"]
    assert body["callback_url"] == "http://testserver/connectors/widgets/callback"  # its own
    assert body["updated_at"]


def test_get_unsaved(api, widgets):
    """Nothing saved: not configured, no values, nobody."""
    code, body = call(api, "get", URL)
    assert code == 200 and body["configured"] is False and body["values"] == {}
    assert body["secrets_set"] == [] and body["updated_by"] is None


def test_put_keeps_an_omitted_secret_and_names_the_key(api, key_token, partner, widgets, saved):
    """A new client id; the secret left out keeps its value; audited as the API key."""
    code, body = call(api, "put", URL, {"values": {"client_id": "new-id"}})
    assert code == 200 and body["values"]["client_id"] == "new-id"
    assert body["secrets_set"] == ["client_secret"] and body["updated_by"] == "API key Backend"
    row = stored(partner, widgets)
    assert row.secret_values == {"client_secret": SECRET} and row.values["tenant"] == "acme"
    event = AuditEvent.objects.get(action=Action.SETTINGS_SAVED, partner=partner)
    assert event.actor is None and event.actor_label == key_token[0].actor_label
    assert event.detail == {"fields": ["client_id"]} and SECRET not in str(event.detail)


def test_put_sets_a_secret_without_answering_it(api, partner, widgets):
    """A first save with a secret: stored encrypted, answered only as set."""
    response = api.put(URL, {"values": {"client_id": "id", "client_secret": "fake-new-sec-42"}},
                       content_type="application/json")
    assert response.status_code == 200 and "fake-new-sec-42" not in response.content.decode()
    assert response.json()["configured"] is True
    assert stored(partner, widgets).secret_values == {"client_secret": "fake-new-sec-42"}


def test_null_clears(api, partner, widgets, saved):
    """null clears a secret and a plain value; the others stay."""
    code, body = call(api, "put", URL, {"values": {"client_secret": None, "tenant": None}})
    assert code == 200 and body["secrets_set"] == [] and body["values"] == {
        "client_id": "fake-client-id"}
    row = stored(partner, widgets)
    assert row.secret_values == {} and "tenant" not in row.values


@pytest.mark.parametrize("values, field", [
    ({"tenant": "Not Valid!", "client_id": "changed"}, "values.tenant"),
    ({"client_secret": "x" * 2001, "client_id": "changed"}, "values.client_secret"),
    ({"client_secret": "", "client_id": "changed"}, "values.client_secret"),
    ({"nope": "x", "client_id": "changed"}, "values.nope"),
])
def test_invalid_is_422_and_nothing_saved(api, partner, widgets, saved, values, field):
    """The console form's checks (pattern, length) and unknown keys: 422 by field, no change."""
    response = api.put(URL, {"values": values}, content_type="application/json")
    assert_problem(response, 422)
    assert list(response.json()["errors"]) == [field]
    assert "x" * 2001 not in response.content.decode()
    row = stored(partner, widgets)
    assert row.values["client_id"] == "fake-client-id"
    assert row.secret_values == {"client_secret": SECRET}
    assert not AuditEvent.objects.filter(action=Action.SETTINGS_SAVED).exists()


def test_malformed_body_is_400(api, saved):
    """values must be an object of strings or nulls."""
    assert_problem(api.put(URL, {"values": ["x"]}, content_type="application/json"), 400)


def test_delete_refused_while_installs_use_them_then_forced(api, partner, widgets, saved):
    """409 with the number of installs, nothing cleared; force=true clears and audits."""
    customer = account(partner)
    new_install(customer, widgets, name="One", status=Install.Status.AUTHENTICATED)
    new_install(customer, widgets, name="Two", status=Install.Status.PENDING)
    new_install(customer, widgets, name="Gone", status=Install.Status.DEAUTHENTICATED)
    response = api.delete(URL)
    assert_problem(response, 409)
    assert response.json()["installs"] == 2 and "2 install" in response.json()["detail"]
    assert PartnerAuthSettings.objects.filter(partner=partner).exists()

    assert api.delete(URL + "?force=true").status_code == 204
    assert not PartnerAuthSettings.objects.filter(partner=partner).exists()
    event = AuditEvent.objects.get(action=Action.SETTINGS_CLEARED)
    assert event.actor_label == "API key Backend" and event.connector == widgets
    assert event.detail == {"fields": ["client_id", "client_secret", "tenant"]}
    assert call(api, "get", URL)[1]["configured"] is False


def test_delete_without_installs(api, partner, saved):
    """No install uses them: cleared at once."""
    assert api.delete(URL).status_code == 204
    assert not PartnerAuthSettings.objects.filter(partner=partner).exists()


def test_configure_scope_required(partner, saved):
    """A key without Configure: 403 on every method, nothing changed."""
    client = bearer(make_key(partner, "manage", "credentials", "proxy")[1])
    assert_problem(client.get(URL), 403)
    assert_problem(client.put(URL, {"values": {"client_id": "x"}},
                              content_type="application/json"), 403)
    assert_problem(client.delete(URL + "?force=true"), 403)
    assert stored(partner, saved.connector).values["client_id"] == "fake-client-id"
    assert bearer(make_key(partner, "configure", name="Config")[1]).get(URL).status_code == 200


def test_another_partners_settings_are_never_seen(other_api, partner, widgets, saved):
    """Globex sees its own (none), cannot clear Acme's, and its save is its own."""
    response = other_api.get(URL)
    assert response.status_code == 200 and response.json()["values"] == {}
    assert "fake-client-id" not in response.content.decode()
    assert other_api.delete(URL + "?force=true").status_code == 204
    assert stored(partner, widgets).secret_values == {"client_secret": SECRET}


def test_unknown_or_hidden_connector_is_404(api, settings, db):
    """An unknown slug, and a sandbox connector while the sandbox is off: 404."""
    assert_problem(api.get("/api/v1/connectors/nope/settings"), 404)
    make_connector("sandbox-widgets", oauth2_data("Sandbox widgets"))
    settings.SANDBOX_ENABLED = False
    assert_problem(api.get("/api/v1/connectors/sandbox-widgets/settings"), 404)
    assert_problem(api.put("/api/v1/connectors/sandbox-widgets/settings",
                           {"values": {}}, content_type="application/json"), 404)
    settings.SANDBOX_ENABLED = True
    assert api.get("/api/v1/connectors/sandbox-widgets/settings").status_code == 200


def test_command_creates_a_configure_key(partner, saved):
    """create_api_key --scopes configure: a key that reads the settings and nothing else."""
    out = StringIO()
    call_command("create_api_key", "--partner", "acme", "--name", "Config",
                 "--scopes", "configure", stdout=out)
    client = bearer(out.getvalue().strip())
    assert client.get(URL).status_code == 200
    assert_problem(client.get("/api/v1/accounts"), 403)


def test_console_form_offers_configure(admin_client, partner):
    """The console's Create API key form has a Configure checkbox that grants the scope."""
    page = admin_client.get("/api-keys/").content.decode()
    assert 'value="configure"' in page and "Configure (connectors and their Authentication" in page
    admin_client.post("/api-keys/", {"name": "Config", "scopes": ["configure"]})
    assert ApiKey.objects.get(name="Config").scopes == ["configure"]
