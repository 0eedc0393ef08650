"""A customer completes installs through a link, end to end against the in-process sandbox."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from connectors.models import Connector
from installs.models import AuthAttempt, Install
from links.models import InstallLink
from tests.factories import account, configure_sandbox, make_link

RETURN = "https://app.acme.test/integrations"


@pytest.fixture
def setup(partner, catalog, sandbox_transport):
    partner.allowed_return_origins = ["https://app.acme.test"]
    partner.save()
    configure_sandbox(partner, base="http://testserver")
    acct = account(partner)
    offered = list(Connector.objects.filter(slug__in=["sandbox-oauth2", "sandbox-api-key"]))
    link, token = make_link(acct, offered, return_url=RETURN)
    return acct, link, token


def consent(client: Client, provider_url: str, decision: str) -> str:
    """Walk the sandbox consent page like a browser; return where it sends us back."""
    assert client.get(provider_url).status_code == 200
    response = client.post(provider_url, {"decision": decision})
    assert response.status_code == 302
    return response["Location"]


def connect_oauth2(client: Client, token: str, decision: str = "allow"):
    client.get(reverse("install:landing", args=[token]))
    start = client.post(reverse("install:connect", args=[token, "sandbox-oauth2"]))
    assert start.status_code == 302
    assert start["Location"].startswith("http://testserver/sandbox/oauth2/authorize?")
    back = consent(client, start["Location"], decision)
    assert back.startswith("http://testserver/connectors/sandbox-oauth2/callback?")
    return client.get(back)


def test_oauth2_connect_through_link(client, setup):
    """Connect → consent Allow → "Connected" → return URL with status; install authenticated."""
    acct, link, token = setup
    callback = connect_oauth2(client, token)
    assert callback.status_code == 302 and callback["Location"] == reverse("install:result")
    result = client.get(callback["Location"])
    html = result.content.decode()
    assert "<h1>Connected</h1>" in html and "Sandbox (OAuth 2.0)" in html
    assert "hatchway" not in html.lower()
    back = client.get(reverse("install:continue"))
    assert back["Location"] == f"{RETURN}?status=connected&connector=sandbox-oauth2"
    install = Install.objects.get()
    assert install.account == acct and install.status == Install.Status.AUTHENTICATED
    assert "access_token" not in back["Location"] and "code=" not in back["Location"]
    assert InstallLink.objects.get().use_count == 1
    assert AuthAttempt.objects.get().install_link == link
    created = AuditEvent.objects.get(action="install.created")
    assert created.actor is None and created.actor_label == "install link"
    assert AuditEvent.objects.filter(action="link.used", install=install).count() == 1


def test_denied_consent_returns_cancelled(client, setup):
    """Deny at the provider: "cancelled" page and return status, nothing counted."""
    _, _, token = setup
    callback = connect_oauth2(client, token, decision="deny")
    html = client.get(callback["Location"]).content.decode()
    assert "Connection cancelled" in html
    back = client.get(reverse("install:continue"))
    assert back["Location"].endswith("status=cancelled&connector=sandbox-oauth2")
    assert Install.objects.get().status != Install.Status.AUTHENTICATED
    assert InstallLink.objects.get().use_count == 0


def test_api_key_asks_then_connects(client, setup):
    """A connector with account-level values asks for them first, then connects at once."""
    _, _, token = setup
    url = reverse("install:connect", args=[token, "sandbox-api-key"])
    client.get(reverse("install:landing", args=[token]))
    form = client.post(url)
    html = form.content.decode()
    assert form.status_code == 200 and "API key" in html and 'type="password"' in html
    assert not Install.objects.exists()
    done = client.post(url, {"step": "details", "api_key": "fake-api-key-123"})
    assert done.status_code == 302 and done["Location"] == reverse("install:result")
    assert "<h1>Connected</h1>" in client.get(done["Location"]).content.decode()
    assert Install.objects.get().status == Install.Status.AUTHENTICATED
    assert InstallLink.objects.get().use_count == 1


def test_wrong_api_key_is_an_error_result(client, setup):
    """A key the provider rejects: "Connection failed" with a clear message, no use counted."""
    _, _, token = setup
    url = reverse("install:connect", args=[token, "sandbox-api-key"])
    done = client.post(url, {"step": "details", "api_key": "fake-wrong-key"})
    html = client.get(done["Location"]).content.decode()
    assert "Connection failed" in html and "rejected" in html
    assert "fake-wrong-key" not in html
    assert InstallLink.objects.get().use_count == 0
    assert client.get(reverse("install:continue"))["Location"].endswith(
        "status=error&connector=sandbox-api-key")


def test_missing_required_value_shows_the_form_again(client, setup):
    """Submitting the form without the required value re-asks; nothing is created."""
    _, _, token = setup
    response = client.post(reverse("install:connect", args=[token, "sandbox-api-key"]),
                           {"step": "details", "api_key": ""})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not Install.objects.exists()


def test_reconnect_reauthenticates_in_place(client, setup):
    """Reconnect runs the flow on the same install: no second install, same id."""
    acct, _, token = setup
    connect_oauth2(client, token)
    install = Install.objects.get()
    landing = client.get(reverse("install:landing", args=[token])).content.decode()
    assert ">Reconnect</button>" in landing
    start = client.post(reverse("install:reconnect", args=[token, install.pk]))
    back = consent(client, start["Location"], "allow")
    client.get(back)
    assert list(Install.objects.values_list("pk", flat=True)) == [install.pk]
    assert Install.objects.get().status == Install.Status.AUTHENTICATED
    assert InstallLink.objects.get().use_count == 2


def test_reconnect_api_key_asks_for_a_new_key(client, setup):
    """An API-key install holds no entered key after connecting, so Reconnect asks for one."""
    _, _, token = setup
    url = reverse("install:connect", args=[token, "sandbox-api-key"])
    client.post(url, {"step": "details", "api_key": "fake-api-key-123"})
    install = Install.objects.get()
    reconnect = reverse("install:reconnect", args=[token, install.pk])
    form = client.post(reconnect)
    assert form.status_code == 200 and "API key" in form.content.decode()
    done = client.post(reconnect, {"step": "details", "api_key": "fake-api-key-123"})
    assert done["Location"] == reverse("install:result")
    assert Install.objects.get().status == Install.Status.AUTHENTICATED
    assert Install.objects.count() == 1


def test_callback_from_another_browser_is_refused(client, setup):
    """The provider's redirect replayed in another browser: 400, nothing stored or counted."""
    _, _, token = setup
    client.get(reverse("install:landing", args=[token]))
    start = client.post(reverse("install:connect", args=[token, "sandbox-oauth2"]))
    back = consent(client, start["Location"], "allow")
    response = Client().get(back)
    assert response.status_code == 400
    assert "hatchway" not in response.content.decode().lower()
    assert Install.objects.get().status != Install.Status.AUTHENTICATED
    assert InstallLink.objects.get().use_count == 0


def test_flow_logs_no_token_at_debug(client, setup, caplog):
    """The whole customer flow at DEBUG logs no link token, code or access token."""
    caplog.set_level(logging.DEBUG)
    _, _, token = setup
    connect_oauth2(client, token)
    client.get(reverse("install:result"))
    client.get(reverse("install:continue"))
    install = Install.objects.get()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert any(r.name == "hatchway.auth" for r in caplog.records)  # capture works
    assert token not in logged
    assert install.credentials["access_token"] not in logged


def test_refused_paths_are_scrubbed_in_logs(client, setup):
    """django.request logs 4xx paths; the log filter redacts the token in them."""
    from config.log_scrub import scrub

    _, _, token = setup
    assert token not in scrub(f"Method Not Allowed: /install/{token}/connect/sandbox-oauth2/")
    assert scrub("GET /install/theme/aa3300.css") == "GET /install/theme/aa3300.css"


def settings_reads(queries) -> int:
    return sum('FROM "connectors_partnerauthsettings"' in q["sql"] for q in queries)


def test_one_connect_click_reads_the_partner_settings_once(client, setup):
    """Connect with an API key: the form, the install and the sign-in share one read."""
    _, _, token = setup
    url = reverse("install:connect", args=[token, "sandbox-api-key"])
    client.get(reverse("install:landing", args=[token]))
    with CaptureQueriesContext(connection) as queries:
        done = client.post(url, {"step": "details", "api_key": "fake-api-key-123"})
    assert done.status_code == 302
    assert Install.objects.get().status == Install.Status.AUTHENTICATED
    assert settings_reads(queries.captured_queries) == 1
