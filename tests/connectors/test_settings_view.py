"""Authentication Settings: one input per partner-level field, secrets never echoed."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import from_form

from audit.models import AuditEvent
from connectors.forms import AuthSettingsForm
from connectors.models import Connector, PartnerAuthSettings
from connectors.views import auth_settings
from core.fields import Unreadable
from tests.factories import make_connector, write_raw_value

SECRET = "fake-consumer-secret-123"
KEY = "fake-consumer-key-abc"

FIRST_CONNECT = {
    "name": "1st Connect",
    "description": "CRM contacts over OAuth 1.0a.",
    "categories": ["CRM"],
    "auth": {
        "type": "oauth1",
        "request_token_url": "https://api.1stconnect.example/oauth/request_token",
        "authorize_url": "https://app.1stconnect.example/oauth/authorize",
        "access_token_url": "https://api.1stconnect.example/oauth/access_token",
    },
    "fields": [
        {"key": "consumer_key", "label": "Consumer Key", "pattern": "^[A-Za-z0-9._-]+$",
         "help": "The Consumer Key of your 1st Connect application."},
        {"key": "consumer_secret", "label": "Consumer Secret", "secret": True,
         "help": "Shown next to the Consumer Key."},
        {"key": "region", "label": "Region", "level": "account", "help": "eu or us."},
    ],
}
NO_AUTH = {"name": "Open Data", "description": "Public data.", "auth": {"type": "none"}}


@pytest.fixture
def connector(db) -> Connector:
    return make_connector("1st-connect", FIRST_CONNECT)


def url(slug: str = "1st-connect") -> str:
    return reverse("connectors:settings", args=[slug])


def save(client: Client, **data: str) -> object:
    return client.post(url(), data)


def stored(partner) -> PartnerAuthSettings:
    return PartnerAuthSettings.objects.get(partner=partner)


def test_page_shows_partner_fields_callback_url_and_guide_button(admin_client, connector,
                                                                 settings):
    """The page has its heading, labelled inputs, the callback URL and the guide button."""
    settings.PUBLIC_URL = "https://console.example.com"
    settings.PUBLIC_HOST_REDIRECT = False  # the URL shown comes from PUBLIC_URL, not the Host
    html = admin_client.get(url()).content.decode()
    assert "<h1>1st Connect Authentication Settings</h1>" in html
    assert '<label for="id_consumer_key">Consumer Key</label>' in html
    assert '<label for="id_consumer_secret">Consumer Secret</label>' in html
    assert 'type="password" name="consumer_secret"' in html
    assert 'aria-describedby="id_consumer_key_helptext"' in html
    assert 'id="id_consumer_key_helptext">The Consumer Key of your 1st Connect application.' in html
    assert "Region" not in html  # account-level: asked at install, not here
    assert ('<input type="text" id="callback-url" '
            'value="https://console.example.com/connectors/1st-connect/callback" readonly') in html
    assert 'data-copy-target="callback-url">Copy</button>' in html
    assert ">Save Changes</button>" in html
    assert "Any value left blank will be asked for when the connector is installed" in html
    guide = reverse("connectors:guide", args=["1st-connect"])
    assert f'<a class="button" href="{guide}">Authentication Setup Guide</a>' in html
    assert "Not set" in html


def test_save_stores_values_encrypts_secret_and_redirects(admin_client, alice, partner,
                                                         connector):
    """Save Changes upserts the row, sets saved_at/by, shows the message, audits field names."""
    response = save(admin_client, consumer_key=KEY, consumer_secret=SECRET)
    assert response.status_code == 302 and response.url == url()
    row = stored(partner)
    assert row.values == {"consumer_key": KEY}
    assert row.secret_values == {"consumer_secret": SECRET}
    assert row.saved_by == alice and row.saved_at is not None
    event = AuditEvent.objects.get(action="settings.saved")
    assert event.partner == partner and event.actor == alice and event.connector == connector
    assert event.detail == {"fields": ["consumer_key", "consumer_secret"]}
    assert SECRET not in str(event.detail) and KEY not in str(event.detail)
    page = admin_client.get(response.url).content.decode()
    assert "Authentication Settings saved." in page
    assert SECRET not in page
    assert f'value="{KEY}"' in page
    assert "Saved" in page


def test_blank_secret_keeps_stored_value(admin_client, partner, connector):
    """Saving again with the secret left blank keeps it; only changed names are audited."""
    save(admin_client, consumer_key=KEY, consumer_secret=SECRET)
    save(admin_client, consumer_key="other-key", consumer_secret="")
    row = stored(partner)
    assert row.secret_values == {"consumer_secret": SECRET}
    assert row.values == {"consumer_key": "other-key"}
    assert AuditEvent.objects.first().detail == {"fields": ["consumer_key"]}


def test_clear_checkbox_removes_secret(admin_client, partner, connector):
    """The Clear checkbox removes the stored secret explicitly."""
    save(admin_client, consumer_key=KEY, consumer_secret=SECRET)
    save(admin_client, consumer_key=KEY, **{"clear-consumer_secret": "on"})
    assert stored(partner).secret_values == {}
    assert AuditEvent.objects.first().detail == {"fields": ["consumer_secret"]}
    assert "Not set" in admin_client.get(url()).content.decode()


def test_clear_and_new_secret_together_is_an_error(admin_client, partner, connector):
    """Entering a secret and ticking Clear is refused, and the entered secret is not echoed."""
    response = save(admin_client, consumer_secret=SECRET, **{"clear-consumer_secret": "on"})
    assert response.status_code == 200
    assert "Either enter a new Consumer Secret or clear it, not both." in response.content.decode()
    assert SECRET not in response.content.decode()
    assert not PartnerAuthSettings.objects.exists()


def test_saving_blank_form_still_configures(admin_client, partner, connector):
    """All blank is allowed (asked at install) and still closes the padlock."""
    assert save(admin_client).status_code == 302
    row = stored(partner)
    assert row.saved_at is not None and row.values == {} and row.secret_values == {}


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"consumer_key": "has spaces"}, "consumer_key", "in the format it is issued in"),
    ({"consumer_key": "a/b"}, "consumer_key", "in the format it is issued in"),
    ({"consumer_key": "k" * 2001}, "consumer_key", "at most 2000 characters"),
    ({"consumer_secret": "s" * 2001}, "consumer_secret", "at most 2000 characters"),
    ({"consumer_key": "a\x00b"}, "consumer_key", "Null characters are not allowed"),
    ({"consumer_secret": "fake-\x00-secret"}, "consumer_secret", "Null characters are not"),
])
def test_bad_input_is_a_field_error(admin_client, partner, connector, data, field, message):
    """Pattern, length and NUL problems are field errors: 200, nothing stored."""
    response = save(admin_client, **data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not PartnerAuthSettings.objects.exists()


def test_secret_not_echoed_after_validation_error(admin_client, partner, connector):
    """A secret submitted with an invalid key is not rendered back into the page."""
    response = save(admin_client, consumer_key="not valid!", consumer_secret=SECRET)
    html = response.content.decode()
    assert response.status_code == 200 and "in the format it is issued in" in html
    assert SECRET not in html
    assert re.search(r'<input type="password" name="consumer_secret"(?![^>]*value=)', html)


def test_stored_secret_never_rendered(admin_client, partner, connector):
    """The stored secret is not in the page, only its status."""
    PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                       secret_values={"consumer_secret": SECRET},
                                       saved_at=timezone.now())
    html = admin_client.get(url()).content.decode()
    assert SECRET not in html
    assert '<strong class="secret-status">Saved</strong>' in html


def test_unreadable_secret_shows_re_enter_and_survives_a_save(admin_client, partner, connector):
    """A secret no key decrypts shows "enter it again" and a save without secrets keeps it."""
    row = PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                             saved_at=timezone.now())
    write_raw_value(row, "secret_values", b"not-a-fernet-token")
    html = admin_client.get(url()).content.decode()
    assert "Unreadable: enter it again" in html
    save(admin_client, consumer_key=KEY)
    row = stored(partner)
    assert isinstance(row.secret_values, Unreadable)
    assert row.secret_values.ciphertext == b"not-a-fernet-token"
    save(admin_client, consumer_key=KEY, consumer_secret=SECRET)
    assert stored(partner).secret_values == {"consumer_secret": SECRET}


def test_viewer_sees_disabled_inputs_without_save_button(viewer_client, partner, connector):
    """Viewers read the page: inputs disabled, no Save Changes button."""
    PartnerAuthSettings.objects.create(partner=partner, connector=connector,
                                       values={"consumer_key": KEY}, saved_at=timezone.now())
    response = viewer_client.get(url())
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<input type="text" name="consumer_key" value="fake-consumer-key-abc"'
                     r'[^>]*disabled', html)
    assert re.search(r'<input type="password" name="consumer_secret"[^>]*disabled', html)
    assert "Save Changes" not in html
    assert "read-only access" in html


def test_viewer_post_is_forbidden(viewer_client, partner, connector):
    """A viewer's POST is refused with 403 and changes nothing."""
    response = save(viewer_client, consumer_key=KEY, consumer_secret=SECRET)
    assert response.status_code == 403
    assert not PartnerAuthSettings.objects.exists()


def test_other_partners_settings_are_not_visible(admin_client, other_client, partner,
                                                 other_partner, connector):
    """Each partner sees and changes only its own settings for the same connector."""
    save(other_client, consumer_key="globex-key", consumer_secret="fake-globex-secret")
    html = admin_client.get(url()).content.decode()
    assert "globex-key" not in html and "fake-globex-secret" not in html
    assert "Saved" not in html
    save(admin_client, consumer_key=KEY)
    assert stored(other_partner).values == {"consumer_key": "globex-key"}
    assert stored(other_partner).secret_values == {"consumer_secret": "fake-globex-secret"}
    assert stored(partner).values == {"consumer_key": KEY}


@pytest.mark.parametrize("slug", ["no-such-connector", "retired"])
def test_unknown_or_retired_connector_is_404(admin_client, connector, slug):
    """Unknown slugs and retired connectors give 404, on GET and POST."""
    retired = make_connector("retired", {**NO_AUTH, "name": "Retired"})
    retired.retired_at = timezone.now()
    retired.save()
    assert admin_client.get(url(slug)).status_code == 404
    assert admin_client.post(url(slug), {}).status_code == 404


def test_missing_csrf_token_is_403(alice, partner, connector):
    """A POST without the CSRF token is refused."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(url(), {"consumer_key": KEY, "consumer_secret": SECRET})
    assert response.status_code == 403
    assert not PartnerAuthSettings.objects.exists()


def test_login_required(client, connector):
    """Anonymous visitors are sent to the login page, on GET and POST."""
    assert client.get(url()).url.startswith(reverse("login"))
    assert client.post(url(), {"consumer_key": KEY}).status_code == 302
    assert not PartnerAuthSettings.objects.exists()


def test_connector_without_fields_says_so(admin_client, partner, db):
    """A connector of type "none" has no inputs; saving still configures it."""
    make_connector("open-data", NO_AUTH)
    settings_url = reverse("connectors:settings", args=["open-data"])
    html = admin_client.get(settings_url).content.decode()
    assert "Open Data needs no authentication details" in html
    assert admin_client.post(settings_url, {}).status_code == 302
    assert stored(partner).saved_at is not None


def test_sensitive_post_parameters_hide_secrets_from_error_reports(rf, alice, connector):
    """The view marks every POST parameter sensitive for Django's error reports."""
    request = rf.post(url(), {"consumer_secret": SECRET})
    request.user = alice
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    auth_settings(request, slug="1st-connect")
    assert request.sensitive_post_parameters == "__ALL__"


# --- property test: hostile text never gives a 500 nor an echo of a secret ---------------

HOSTILE = st.one_of(
    st.text(max_size=60),
    st.text(min_size=1990, max_size=2100, alphabet=st.characters(codec="utf-8")),
    st.sampled_from(["\x00", "a\x00b", "<script>alert(1)</script>", "\"'><img src=x>",
                     "{{ secret }}", "%s%n", "\u202e\ufeff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\r\n\r\n"]),
)
# Secrets carry a marker so an echo is recognisable whatever else the page contains.
HOSTILE_SECRET = HOSTILE.map(lambda text: f"fake-secret-{text}")


@pytest.mark.django_db
@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_input_never_500_never_echoes_secret(admin_client, partner, data):
    """Hostile text in every field: a page or a redirect, never a 500, never the secret."""
    connector = Connector.objects.filter(slug="1st-connect").first() or make_connector(
        "1st-connect", FIRST_CONNECT)
    form = data.draw(from_form(AuthSettingsForm, form_kwargs={"spec": connector.spec},
                               consumer_key=HOSTILE, consumer_secret=HOSTILE_SECRET))
    form.is_valid()  # the form itself never raises on hostile input
    post = {k: ("on" if v is True else v) for k, v in form.data.items() if v is not False}
    response = admin_client.post(url(), post, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    secret = post["consumer_secret"]
    assert secret not in html
    assert secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") not in html


def test_clear_checkbox_only_when_a_secret_is_saved(admin_client, partner, connector):
    """Nothing saved: no Clear checkbox to confuse; once saved, Clear is offered."""
    assert 'name="clear-consumer_secret"' not in admin_client.get(url()).content.decode()
    save(admin_client, consumer_key=KEY, consumer_secret=SECRET)
    html = admin_client.get(url()).content.decode()
    assert 'name="clear-consumer_secret"' in html and SECRET not in html
