"""Install links opened as a popup (`?popup=<origin>`): the result page carries the message
for an allowlisted opener, through the provider's round trip too, and nothing for any
other origin."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from connectors.models import Connector, PartnerAuthSettings
from installs.models import Install
from links import browser
from tests.factories import account, configure_sandbox, make_link

ORIGIN = "https://app.acme.test"
MESSAGE_RE = re.compile(r'<script id="popup-message" type="application/json">(.*?)</script>')
SCRIPT = '<script src="/static/js/install-popup.js" defer></script>'


@pytest.fixture
def setup(partner, catalog, sandbox_transport):
    partner.allowed_return_origins = [ORIGIN]
    partner.save()
    configure_sandbox(partner, base="http://testserver")
    acct = account(partner, external_id="cust-77")
    offered = list(Connector.objects.filter(slug__in=["sandbox-oauth2", "sandbox-api-key"]))
    link, token = make_link(acct, offered, return_url=f"{ORIGIN}/integrations")
    return acct, link, token


def open_link(client: Client, token: str, popup: str | None = ORIGIN):
    """GET the landing page as the partner's helper opens it (`?popup=<origin>`)."""
    query = f"?{urlencode({'popup': popup})}" if popup is not None else ""
    return client.get(reverse("install:landing", args=[token]) + query)


def connect_api_key(client: Client, token: str, api_key: str = "fake-api-key-123"):
    """Submit the API-key connector's form; return the result page."""
    url = reverse("install:connect", args=[token, "sandbox-api-key"])
    done = client.post(url, {"step": "details", "api_key": api_key})
    assert done["Location"] == reverse("install:result")
    return client.get(done["Location"])


def connect_oauth2(client: Client, token: str, decision: str = "allow"):
    """Connect → the sandbox consent page → the callback; return the callback's response."""
    start = client.post(reverse("install:connect", args=[token, "sandbox-oauth2"]))
    assert start["Location"].startswith("http://testserver/sandbox/oauth2/authorize?")
    assert client.get(start["Location"]).status_code == 200
    back = client.post(start["Location"], {"decision": decision})["Location"]
    assert back.startswith("http://testserver/connectors/sandbox-oauth2/callback?")
    return client.get(back)


def popup_data(response) -> dict | None:
    """The JSON element the result page hands to js/install-popup.js, or None."""
    found = MESSAGE_RE.search(response.content.decode())
    return json.loads(found.group(1)) if found else None


def test_api_key_connected_posts_completed(client, setup):
    """Connected: the result page holds install.completed for the allowed origin only."""
    acct, _, token = setup
    assert open_link(client, token).status_code == 200
    result = connect_api_key(client, token)
    install = Install.objects.get()
    assert install.status == Install.Status.AUTHENTICATED
    assert popup_data(result) == {"origin": ORIGIN, "message": {
        "event": "install.completed", "connector": "sandbox-api-key", "install": install.pk,
        "account": "cust-77",
    }}
    html = result.content.decode()
    assert SCRIPT in html and "<h1>Connected</h1>" in html
    assert "hatchway" not in html.lower()
    assert result["Cross-Origin-Opener-Policy"] == "unsafe-none"


def test_api_key_rejected_posts_failed(client, setup):
    """A key the provider rejects: install.failed, and the key is nowhere in the page."""
    _, _, token = setup
    open_link(client, token)
    result = connect_api_key(client, token, api_key="fake-wrong-key-991")
    data = popup_data(result)
    assert data["message"]["event"] == "install.failed"
    assert data["message"]["connector"] == "sandbox-api-key"
    assert "fake-wrong-key-991" not in result.content.decode()


def test_oauth2_round_trip_keeps_the_origin(client, setup):
    """The origin survives the provider round trip: Allow → install.completed."""
    _, link, token = setup
    assert open_link(client, token)["Cross-Origin-Opener-Policy"] == "unsafe-none"
    callback = connect_oauth2(client, token)
    assert callback["Location"] == reverse("install:result")
    assert callback["Cross-Origin-Opener-Policy"] == "unsafe-none"
    result = client.get(callback["Location"])
    install = Install.objects.get()
    assert install.status == Install.Status.AUTHENTICATED
    assert popup_data(result)["message"] == {
        "event": "install.completed", "connector": "sandbox-oauth2", "install": install.pk,
        "account": "cust-77",
    }
    html = result.content.decode()
    secrets = [install.credentials["access_token"], install.credentials["refresh_token"],
               PartnerAuthSettings.objects.get(connector=install.connector)
               .secret_values["client_secret"], token]
    assert all(secret and secret not in html for secret in secrets)
    assert "code=" not in html and "state=" not in html


def test_oauth2_denied_posts_cancelled(client, setup):
    """Deny at the provider: install.cancelled, nothing authenticated."""
    _, _, token = setup
    open_link(client, token)
    result = client.get(connect_oauth2(client, token, decision="deny")["Location"])
    assert popup_data(result)["message"]["event"] == "install.cancelled"
    assert Install.objects.get().status != Install.Status.AUTHENTICATED


@pytest.mark.parametrize("popup", [
    "https://evil.test", "https://app.acme.test.evil.test", "http://app.acme.test",
    "https://app.acme.test:8443", "https://app.acme.test/integrations", "null", "*", "",
    "https://user@app.acme.test", "javascript:alert(1)", "https://app.acme.test\\n",
    "<script>alert('popup-7731')</script>", "https://app.acme.test?x=1",
])
def test_origin_not_allowed_gets_no_message(client, setup, popup):
    """An origin off the allowlist, or not an origin: a normal link, the value never shown."""
    _, _, token = setup
    landing = open_link(client, token, popup)
    assert landing.status_code == 200
    assert browser.SESSION_POPUP not in client.session
    form = client.post(reverse("install:connect", args=[token, "sandbox-api-key"]))
    result = connect_api_key(client, token)
    assert popup_data(result) is None and "install-popup.js" not in result.content.decode()
    assert result["Cross-Origin-Opener-Policy"] == "same-origin"
    for response in (landing, form, result):
        html = response.content.decode()
        assert "popup-7731" not in html and "evil.test" not in html
        assert "popup-message" not in html


@pytest.mark.parametrize("popup", ["https://APP.acme.test/", "https://app.acme.test:443",
                                   " https://app.acme.test\n"])
def test_canonical_forms_match(client, setup, popup):
    """The same origin spelled differently matches; the message names the canonical one."""
    _, _, token = setup
    open_link(client, token, popup)
    assert popup_data(connect_api_key(client, token))["origin"] == ORIGIN


def test_without_the_parameter_nothing_is_posted(client, setup):
    """The link opened as a plain link: no message, the console's opener policy."""
    _, _, token = setup
    open_link(client, token, popup=None)
    result = connect_api_key(client, token)
    assert popup_data(result) is None
    assert result["Cross-Origin-Opener-Policy"] == "same-origin"


def test_back_link_keeps_popup_mode(client, setup):
    """Reopened without the parameter (the form's Back link), the popup mode stays."""
    _, _, token = setup
    open_link(client, token)
    open_link(client, token, popup=None)
    assert popup_data(connect_api_key(client, token))["origin"] == ORIGIN


def test_reopened_with_a_foreign_origin_ends_popup_mode(client, setup):
    """A later `?popup=` off the allowlist replaces an allowed one: no message."""
    _, _, token = setup
    open_link(client, token)
    open_link(client, token, "https://evil.test")
    assert popup_data(connect_api_key(client, token)) is None


def test_origin_removed_from_allowlist_meanwhile(client, setup, partner):
    """The allowlist is checked again at the result: a removed origin gets nothing."""
    _, _, token = setup
    open_link(client, token)
    partner.allowed_return_origins = ["https://other.acme.test"]
    partner.save()
    assert popup_data(connect_api_key(client, token)) is None


def test_popup_of_one_link_is_not_another_links(client, setup):
    """Popup mode belongs to the link it was opened with, not to the browser's next one."""
    acct, _, token = setup
    open_link(client, token)
    _, other_token = make_link(acct, list(Connector.objects.filter(slug="sandbox-api-key")))
    open_link(client, other_token, popup=None)
    assert popup_data(connect_api_key(client, other_token)) is None


@pytest.mark.parametrize("name", ["hatchway-popup.js", "js/install-popup.js"])
def test_scripts_are_small(name):
    """Both scripts stay small and self-contained (no imports)."""
    text = (Path(settings.BASE_DIR) / "static" / name).read_text()
    assert len(text.splitlines()) < 60
    assert "import " not in text and "require(" not in text
