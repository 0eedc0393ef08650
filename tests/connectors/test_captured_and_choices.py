"""Captured values and choices through the install: never asked, checked before they are
stored, used as the base URL; selects that accept only their listed values. And a token
without `expires_in` gets `default_expires_in`, so the refresh worker renews it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from connectors.auth.base import AuthError
from connectors.forms import AuthSettingsForm
from connectors.models import Connector, PartnerAuthSettings
from installs import refresh, values
from installs.forms import InstallForm
from installs.installing import create_install
from installs.models import AuthAttempt, Install
from installs.signin import finish_callback
from tests.factories import make_connector
from tests.fake_provider import FakeProvider, install_fake

pytestmark = pytest.mark.django_db

LOGIN = "https://login.provider.localhost"
INSTANCE = "https://acme.my.provider.localhost"
API = f"{INSTANCE}/services/data/v61.0"


def salesforce_like() -> dict[str, Any]:
    """A Salesforce-shaped connector: no expires_in, the org's URL in the token response."""
    return {
        "name": "Fake Force", "description": "Salesforce-shaped.", "categories": ["CRM"],
        "auth": {"type": "oauth2", "authorize_url": f"{LOGIN}/authorize",
                 "token_url": f"{LOGIN}/token", "pkce": False, "default_expires_in": 7200},
        "api": {"base_url": "{instance_url}/services/data/v61.0", "verify": "GET /limits"},
        "fields": [
            {"key": "client_id", "label": "Consumer Key"},
            {"key": "client_secret", "label": "Consumer Secret", "secret": True},
            {"key": "instance_url", "label": "Instance URL", "level": "captured",
             "from": "token.instance_url",
             "pattern": "^https://[a-z0-9-]+\\.my\\.provider\\.localhost$"},
        ],
    }


def mailgun_like() -> dict[str, Any]:
    return {
        "name": "Fake Mail", "description": "Mailgun-shaped.", "categories": ["Email"],
        "auth": {"type": "basic"},
        "api": {"base_url": "https://{region}/v3", "verify": "GET /domains"},
        "fields": [
            {"key": "region", "label": "Region", "level": "account",
             "choices": {"US": "api.provider.localhost", "EU": "api.eu.provider.localhost"}},
            {"key": "username", "label": "Username", "level": "account"},
            {"key": "password", "label": "API key", "level": "account", "secret": True},
        ],
    }


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def force(partner) -> Connector:
    connector = make_connector("fake-force", salesforce_like())
    PartnerAuthSettings.objects.create(
        partner=partner, connector=connector, values={"client_id": "fake-client-id"},
        secret_values={"client_secret": "fake-client-secret-123"}, saved_at=timezone.now())
    return connector


def signed_in(install: Install, fake: FakeProvider, token: dict[str, Any]) -> Any:
    """Run the callback of a sign-in whose token response is `token`."""
    fake.add("POST", f"{LOGIN}/token", json_body=token)
    fake.add("GET", f"{API}/limits", json_body={})
    attempt = AuthAttempt.objects.create(install=install, session_hash="x",
                                         expires_at=timezone.now() + timedelta(minutes=10))
    return finish_callback(attempt=attempt, params={"code": "fake-code-1",
                                                    "state": attempt.state})


def test_captured_fields_are_never_asked_nor_missing(account, force):
    """The install form, `asked_fields` and `missing_fields` leave captured values out."""
    assert [f.key for f in values.asked_fields(force, account.partner)] == []
    form = InstallForm(connector=force, partner=account.partner)
    assert "instance_url" not in form.fields
    install = Install.objects.create(account=account, connector=force)
    assert values.Setup.of(install).missing() == []
    settings_form = AuthSettingsForm(spec=force.spec)
    assert "instance_url" not in settings_form.fields


def test_captured_instance_url_is_stored_and_used_and_the_default_expiry_refreshes(
        account, force, fake):
    """Sign-in keeps the instance URL (verify goes there) and a 2 h expiry; the refresh
    worker then renews the token when it is due."""
    install = Install.objects.create(account=account, connector=force)
    outcome = signed_in(install, fake, {"access_token": "fake-access-1",
                                        "refresh_token": "fake-refresh-1",
                                        "token_type": "Bearer", "instance_url": INSTANCE})
    assert outcome.outcome == "connected", outcome.message
    install.refresh_from_db()
    assert install.values["instance_url"] == INSTANCE
    assert install.status == Install.Status.AUTHENTICATED
    assert timedelta(minutes=119) < install.expires_at - timezone.now() <= timedelta(hours=2)
    assert fake.calls[-1].url == f"{API}/limits"

    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=30))
    fake.routes.clear()
    fake.add("POST", f"{LOGIN}/token", json_body={"access_token": "fake-access-2",
                                                  "token_type": "Bearer",
                                                  "instance_url": INSTANCE})
    assert refresh.refresh_install(install.pk) == refresh.REFRESHED
    install.refresh_from_db()
    assert install.credentials["access_token"] == "fake-access-2"
    assert install.credentials["refresh_token"] == "fake-refresh-1"
    assert install.expires_at - timezone.now() > timedelta(minutes=119)
    assert fake.form(fake.calls_to(f"{LOGIN}/token")[-1])["grant_type"] == "refresh_token"
    assert values.method_for(install).url(force.spec.api.base_url) == API


def test_a_captured_value_failing_its_pattern_stops_the_sign_in(account, force, fake):
    """An instance URL off the provider's domain: a clear error, nothing stored, no verify."""
    install = Install.objects.create(account=account, connector=force)
    outcome = signed_in(install, fake, {"access_token": "fake-access-1", "token_type": "Bearer",
                                        "instance_url": "https://evil.example"})
    assert outcome.outcome == "error"
    assert "Instance URL" in outcome.message and "sign-in was stopped" in outcome.message
    install.refresh_from_db()
    assert install.credentials == {}
    assert "instance_url" not in install.values
    assert install.status == Install.Status.ERROR
    assert [c.url for c in fake.calls] == [f"{LOGIN}/token"]


def test_choices_field_is_a_select_and_refuses_an_unlisted_value(account):
    """The install form renders a select of the labels; only a listed value is accepted."""
    connector = make_connector("fake-mail", mailgun_like())
    form = InstallForm(connector=connector, partner=account.partner)
    html = str(form["region"])
    assert html.startswith("<select")
    assert '<option value="api.eu.provider.localhost">EU</option>' in html
    values = {"username": "api", "password": "fake-key-123"}
    refused = InstallForm({**values, "region": "evil.example"}, connector=connector,
                          partner=account.partner)
    assert not refused.is_valid()
    assert "region" in refused.errors
    accepted = InstallForm({**values, "region": "api.eu.provider.localhost"},
                           connector=connector, partner=account.partner)
    assert accepted.is_valid(), accepted.errors
    assert accepted.field_values()["region"] == "api.eu.provider.localhost"


def test_choice_value_goes_into_the_url_and_an_unlisted_one_never_does(account, fake):
    """The mapped host is used; a stored value that is not listed is refused at sign-in."""
    connector = make_connector("fake-mail", mailgun_like())
    install = create_install(account=account, connector=connector, actor=None,
                             values={"region": "api.eu.provider.localhost",
                                     "username": "api", "password": "fake-key-123"})
    assert values.method_for(install).url(connector.spec.api.base_url) == (
        "https://api.eu.provider.localhost/v3")
    Install.objects.filter(pk=install.pk).update(values={"region": "api.evil.example",
                                                         "username": "api"})
    install.refresh_from_db()
    with pytest.raises(AuthError) as caught:
        values.method_for(install).url(connector.spec.api.base_url)
    assert caught.value.kind == "configuration"
    assert "evil" not in caught.value.message


def test_partner_level_choices_are_a_select_in_the_authentication_settings(db):
    """A partner-level choice (a data centre) is a select there too, blank allowed."""
    data = mailgun_like()
    data["fields"][0]["level"] = "partner"
    connector = make_connector("fake-mail", data)
    form = AuthSettingsForm({"region": "elsewhere.example"}, spec=connector.spec)
    assert str(form["region"]).startswith("<select")
    assert not form.is_valid() and "region" in form.errors
    assert AuthSettingsForm({"region": ""}, spec=connector.spec).is_valid()
