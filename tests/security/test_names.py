"""SECURITY.md "Requests and responses": names that would read as something else --
control characters, line separators, bidi overrides -- are refused in account and install
names, by the console's forms and by the services behind every other caller."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Account
from installs.accounts import create_account
from installs.installing import create_install, update_install_values
from installs.models import Install
from tests.factories import connector

HIDDEN = ["Acme\u202egnp.exe", "Acme\u2066Corp\u2069", "Acme\x1b[31mRed", "Acme\nForged line",
          "Acme\u2028Corp", "Acme\u200fCorp", "Acme\x7fCorp"]


@pytest.mark.parametrize("name", HIDDEN)
def test_account_names_refuse_hidden_characters(admin_client, name):
    """New account: a field error naming the problem; nothing created."""
    response = admin_client.post(reverse("accounts:create"),
                                 {"name": name, "external_id": "cust-9"})
    assert response.status_code == 200
    assert "control characters or text-direction overrides" in response.content.decode()
    assert not Account.objects.exists()


@pytest.mark.parametrize("name", HIDDEN)
def test_install_names_refuse_hidden_characters(admin_client, partner, account, name):
    """New install and Edit: a field error; the install is not created or renamed."""
    crm = connector("crm-one", "CRM One", partner)
    response = admin_client.post(reverse("accounts:install_new", args=[account.pk, crm.slug]),
                                 {"install_name": name})
    assert response.status_code == 200
    assert "control characters or text-direction overrides" in response.content.decode()
    assert not Install.objects.exists()
    install = create_install(account=account, connector=crm, name="CRM", actor=None)
    response = admin_client.post(
        reverse("accounts:install_edit", args=[account.pk, install.pk]), {"install_name": name})
    assert response.status_code == 200
    install.refresh_from_db()
    assert install.name == "CRM"


@pytest.mark.parametrize("name", [*HIDDEN, "Acme\x00"])
def test_services_refuse_hidden_characters(partner, account, name):
    """Every caller (API, commands) goes through the services, which refuse them too."""
    crm = connector("crm-one", "CRM One", partner)
    with pytest.raises(ValidationError):
        create_account(partner=partner, name=name, external_id="cust-9", actor=None)
    with pytest.raises(ValidationError):
        create_install(account=account, connector=crm, name=name, actor=None)
    install = create_install(account=account, connector=crm, name="CRM", actor=None)
    with pytest.raises(ValidationError):
        update_install_values(install=install, name=name, values={}, actor=None)
    assert Account.objects.count() == 1 and Install.objects.get().name == "CRM"


@pytest.mark.parametrize("name", ["Café Müller", "株式会社テスト", "שלום Ltd", "Team 🚀‍🔥",
                                  "O'Brien & Sons (EU)"])
def test_ordinary_names_still_work(admin_client, name):
    """Accents, other scripts (right-to-left too), emoji and punctuation are fine."""
    response = admin_client.post(reverse("accounts:create"),
                                 {"name": name, "external_id": "cust-9"})
    assert response.status_code == 302
    assert Account.objects.get().name == name
