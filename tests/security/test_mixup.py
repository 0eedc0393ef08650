"""OAuth mix-up defence (RFC 9700 §4.4; issue 19 item 10): each connector has its own
callback URL, `<PUBLIC_URL>/connectors/<slug>/callback`; an answer arriving at another
callback URL than the one its sign-in was begun with is refused before any token request;
an `iss` (RFC 9207) must name the connector's issuer when the catalogue declares one.
Settings saved while every connector shared `/connectors/callback` keep it until the
partner has registered the new one and switches."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from connectors.models import PartnerAuthSettings
from installs.models import AuthAttempt, Install
from tests.api.helpers import bearer, make_key
from tests.factories import (
    CLIENT_SECRET,
    TOKEN_JSON,
    TOKEN_URL,
    authenticate,
    catalogue_connector,
    consent,
    fake_oauth2_connector,
    make_connector,
    new_install,
    query,
    sandbox_oauth2,
    save_settings,
)
from tests.fake_provider import HOST

OWN = "http://testserver/connectors/fake-oauth2/callback"
SHARED = "http://testserver/connectors/callback"
EVIL = "https://attacker.localhost"


def oauth2_connector(slug: str, host: str, **auth: str):
    return make_connector(slug, {
        "name": slug.title(), "description": f"{slug} for tests.",
        "auth": {"type": "oauth2", "authorize_url": f"{host}/authorize",
                 "token_url": f"{host}/token", **auth},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True}],
    })


@pytest.fixture
def honest(account, fake) -> Install:
    """An install of the honest provider's connector (fake-oauth2), its token endpoint ready."""
    fake.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    return new_install(account, fake_oauth2_connector(account.partner), name="Honest CRM")


@pytest.fixture
def evil(account, fake) -> Install:
    """An install of a connector whose provider the attacker controls (e.g. a compromised
    or malicious authorization server in the partner's library)."""
    connector = oauth2_connector("evil-oauth2", EVIL)
    save_settings(account.partner, connector, {"client_id": "evil-client"},
                  {"client_secret": "fake-evil-secret"})
    fake.add("POST", f"{EVIL}/token", json_body=TOKEN_JSON)
    return new_install(account, connector, name="Evil CRM")


def state_of(start_url: str) -> str:
    return query(start_url)["state"]


def test_each_connector_sends_and_completes_at_its_own_callback_url(admin_client, fake, honest):
    """Authorize request, token request and the attempt all carry the connector's own URL."""
    start = authenticate(admin_client, honest)
    assert query(start)["redirect_uri"] == OWN
    assert AuthAttempt.objects.get().redirect_uri == OWN
    response = admin_client.get("/connectors/fake-oauth2/callback",
                                {"code": "fake-code-1", "state": state_of(start)})
    assert response.status_code == 302
    (token_request,) = fake.calls_to(TOKEN_URL)
    assert fake.form(token_request)["redirect_uri"] == OWN
    honest.refresh_from_db()
    assert honest.status == Install.Status.AUTHENTICATED


@pytest.mark.parametrize("arrives_at", ["/connectors/fake-oauth2/callback",
                                        "/connectors/callback"])
def test_mixup_attack_never_hands_the_code_to_the_attacker(admin_client, fake, honest, evil,
                                                           arrives_at):
    """The customer starts a sign-in at the attacker's connector; the attacker's authorization
    endpoint sends the browser on to the honest provider with that sign-in's state, and the
    honest provider answers at the callback URL registered for it (or the old shared one).
    Refused with a 400: no token endpoint -- least of all the attacker's -- sees the code,
    nothing is stored, and the attempt is used up."""
    state = state_of(authenticate(admin_client, evil))
    response = admin_client.get(arrives_at, {"code": "fake-honest-code", "state": state})
    assert response.status_code == 400
    assert fake.calls_to(f"{EVIL}/token") == [] and fake.calls_to(TOKEN_URL) == []
    assert not any(b"fake-honest-code" in (c.body or b"") if isinstance(c.body, bytes)
                   else "fake-honest-code" in (c.body or "") for c in fake.calls)
    evil.refresh_from_db()
    assert evil.status == Install.Status.PENDING and evil.credentials == {}
    assert AuthAttempt.objects.get().used_at is not None


def test_an_answer_at_another_connectors_callback_is_refused(admin_client, fake, honest, evil):
    """The other way round: the honest sign-in's answer at the attacker connector's URL."""
    state = state_of(authenticate(admin_client, honest))
    response = admin_client.get("/connectors/evil-oauth2/callback",
                                {"code": "fake-code-1", "state": state})
    assert response.status_code == 400
    assert fake.calls_to(TOKEN_URL) == [] and fake.calls_to(f"{EVIL}/token") == []
    honest.refresh_from_db()
    assert honest.credentials == {}


# --- iss (RFC 9207) ------------------------------------------------------------------------


@pytest.fixture
def declared(account, fake) -> Install:
    """An install of a connector whose catalogue entry declares its issuer."""
    connector = oauth2_connector("iss-oauth2", HOST, issuer=HOST)
    save_settings(account.partner, connector, {"client_id": "fake-client-id"},
                  {"client_secret": CLIENT_SECRET})
    fake.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    return new_install(account, connector, name="Declared CRM")


@pytest.mark.parametrize("params", [
    {"code": "fake-code-1", "iss": EVIL},
    {"code": "fake-code-1", "iss": HOST + "/"},  # compared exactly (RFC 9207 §2.4)
    {"error": "access_denied", "iss": EVIL},  # errors carry iss too
], ids=["another issuer", "not exactly the issuer", "an error from another issuer"])
def test_an_answer_from_another_issuer_is_refused(admin_client, fake, declared, params):
    """`iss` not the catalogue's issuer: 400 before any token request; nothing stored."""
    state = state_of(authenticate(admin_client, declared))
    response = admin_client.get("/connectors/iss-oauth2/callback", {**params, "state": state})
    assert response.status_code == 400
    assert "another authorization server" in response.content.decode()
    assert fake.calls_to(TOKEN_URL) == []
    declared.refresh_from_db()
    assert declared.credentials == {} and declared.status == Install.Status.PENDING
    assert AuditEvent.objects.get(action="install.auth_failed").detail["kind"] == (
        "invalid_callback")


@pytest.mark.parametrize("install_fixture, params", [
    ("declared", {"iss": HOST}),
    ("declared", {}),  # a provider that does not send iss
    ("honest", {"iss": EVIL}),  # no issuer declared: nothing to compare with
])
def test_a_matching_or_uncheckable_iss_connects(admin_client, request, install_fixture,
                                                params):
    """The connector's own issuer, no iss, or no declared issuer: the sign-in completes."""
    install = request.getfixturevalue(install_fixture)
    state = state_of(authenticate(admin_client, install))
    response = admin_client.get(f"/connectors/{install.connector.slug}/callback",
                                {"code": "fake-code-1", "state": state, **params})
    assert response.status_code == 302
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED


# --- partners whose registered apps use the shared URL ---------------------------------


def shared(install: Install) -> None:
    """As if the settings had been saved before each connector had its own callback URL."""
    PartnerAuthSettings.objects.filter(connector=install.connector).update(shared_callback=True)


def test_settings_saved_before_keep_the_shared_callback(admin_client, fake, honest):
    """Their sign-ins send and complete at the shared URL (the one their app registered);
    at the connector's own URL such an answer is refused like any other mismatch."""
    shared(honest)
    start = authenticate(admin_client, honest)
    assert query(start)["redirect_uri"] == SHARED
    refused = admin_client.get("/connectors/fake-oauth2/callback",
                               {"code": "fake-code-1", "state": state_of(start)})
    assert refused.status_code == 400
    start = authenticate(admin_client, honest)
    response = admin_client.get("/connectors/callback",
                                {"code": "fake-code-1", "state": state_of(start)})
    assert response.status_code == 302
    (token_request,) = fake.calls_to(TOKEN_URL)
    assert fake.form(token_request)["redirect_uri"] == SHARED


def test_an_attempt_begun_before_the_change_completes_at_the_shared_url(admin_client, fake,
                                                                         honest):
    """A sign-in in flight across the upgrade (its attempt row has no redirect URI) finishes
    at the shared URL, the token request repeating it."""
    state = state_of(authenticate(admin_client, honest))
    AuthAttempt.objects.update(redirect_uri="")
    response = admin_client.get("/connectors/callback", {"code": "fake-code-1", "state": state})
    assert response.status_code == 302
    assert fake.form(fake.calls_to(TOKEN_URL)[0])["redirect_uri"] == SHARED


def test_settings_page_says_which_url_to_register_and_switches(admin_client, viewer_client,
                                                              honest):
    """The notice names the shared URL in use and the connector's own to register; the
    Callback URL field shows the own one; after "use the new Callback URL" sign-ins send it,
    the change is audited and the notice is gone. Viewers see the notice but cannot switch."""
    shared(honest)
    page = admin_client.get("/connectors/fake-oauth2/settings/").content.decode()
    assert "Register the new Callback URL" in page
    assert f"<code>{SHARED}</code>" in page and f"<code>{OWN}</code>" in page
    assert f'value="{OWN}" readonly' in page
    viewer_page = viewer_client.get("/connectors/fake-oauth2/settings/").content.decode()
    assert "Register the new Callback URL" in viewer_page
    assert "use the new Callback URL" not in viewer_page
    assert viewer_client.post("/connectors/fake-oauth2/settings/callback/").status_code == 403
    assert PartnerAuthSettings.objects.get(connector=honest.connector).shared_callback

    response = admin_client.post("/connectors/fake-oauth2/settings/callback/")
    assert response.status_code == 302
    assert not PartnerAuthSettings.objects.get(connector=honest.connector).shared_callback
    event = AuditEvent.objects.get(action="settings.saved")
    assert event.detail["fields"] == ["callback_url"]
    page = admin_client.get("/connectors/fake-oauth2/settings/").content.decode()
    assert "Register the new Callback URL" not in page
    assert query(authenticate(admin_client, honest))["redirect_uri"] == OWN


def test_settings_saved_now_use_the_own_callback(admin_client, catalog):
    """Saving Authentication Settings for the first time: no notice, the own URL."""
    response = admin_client.post("/connectors/sandbox-oauth2/settings/",
                                 {"client_id": "fake-id", "client_secret": "fake-secret"})
    assert response.status_code == 302
    assert not PartnerAuthSettings.objects.get().shared_callback
    page = admin_client.get("/connectors/sandbox-oauth2/settings/").content.decode()
    assert "Register the new Callback URL" not in page
    assert 'value="http://testserver/connectors/sandbox-oauth2/callback" readonly' in page


# --- against the sandbox's oauthlib authorization server (exact redirect URI match) ----


def test_the_sandbox_provider_accepts_the_own_callback_url(admin_client, account,
                                                           sandbox_transport):
    """oauthlib's server side (the sandbox) checks the redirect URI exactly against the one
    registered: the connector's own URL passes at authorize and at the token request."""
    install = new_install(account, sandbox_oauth2(account.partner), name="Sandbox CRM")
    back = consent(admin_client, authenticate(admin_client, install))
    assert back.startswith("http://testserver/connectors/sandbox-oauth2/callback?")
    assert admin_client.get(back).status_code == 302
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED


def test_the_sandbox_provider_still_works_for_a_shared_registration(admin_client, account,
                                                                    sandbox_transport):
    """A partner whose sandbox app registered the shared URL, settings saved before: still
    connects (through the shared URL) until they switch."""
    from sandbox.services import register_client

    client_id, secret = register_client(name="Old app", redirect_uri=SHARED)
    connector = catalogue_connector("sandbox-oauth2")
    PartnerAuthSettings.objects.create(partner=account.partner, connector=connector,
                                       values={"client_id": client_id},
                                       secret_values={"client_secret": secret},
                                       shared_callback=True)
    install = new_install(account, connector, name="Sandbox CRM")
    back = consent(admin_client, authenticate(admin_client, install))
    assert back.startswith(SHARED + "?")
    assert admin_client.get(back).status_code == 302
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED


# --- the API ---------------------------------------------------------------------------


def test_api_connector_has_its_callback_url(partner, catalog):
    """`GET /api/v1/connectors/{slug}` has `callback_url` (null without a browser flow)."""
    api = bearer(make_key(partner)[1])
    body = api.get("/api/v1/connectors/sandbox-oauth2").json()
    assert body["callback_url"] == "http://testserver/connectors/sandbox-oauth2/callback"
    assert api.get("/api/v1/connectors/sandbox-api-key").json()["callback_url"] is None
    page = api.get("/api/v1/connectors", {"q": "sandbox"}).json()
    listed = {c["slug"]: c["callback_url"] for c in page["results"]}
    assert listed["sandbox-oauth1"] == "http://testserver/connectors/sandbox-oauth1/callback"
