"""Names are text, never markup: script payloads in account, install, branding and API-key
names are escaped on the console's pages, the customer pages and in the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Partner, User
from api.models import ApiKey
from installs.models import Install
from tests.api.helpers import make_key
from tests.factories import PASSWORD, connector, make_link

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def hostile(partner: Partner) -> dict[str, object]:
    """A partner whose display name, account, install and API key all carry the payload."""
    Partner.objects.filter(pk=partner.pk).update(display_name=f"Acme {PAYLOAD}")
    partner.refresh_from_db()
    account = Account.objects.create(partner=partner, name=f"Initech {PAYLOAD}",
                                     external_id="cust-1")
    crm = connector("crm-one", "CRM One", partner)
    install = Install.objects.create(account=account, connector=crm, name=f"CRM {PAYLOAD}")
    key, _ = make_key(partner, name=f"Backend {PAYLOAD}")
    _, token = make_link(account, [crm])
    return {"account": account, "install": install, "key": key, "token": token}


def assert_escaped(response) -> None:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert PAYLOAD not in html and "<script>alert" not in html
    assert "onerror=alert(1)>" not in html.replace(ESCAPED, "")
    assert ESCAPED in html


def test_console_pages_escape_names(admin_client, hostile):
    """Accounts, an account, an install, the API keys page and the audit log."""
    account, install = hostile["account"], hostile["install"]
    for url in (reverse("accounts:list"), reverse("accounts:detail", args=[account.pk]),
                reverse("accounts:install", args=[account.pk, install.pk]),
                reverse("api_keys:list")):
        assert_escaped(admin_client.get(url))


def test_customer_pages_escape_names(client, hostile):
    """The install link's landing page: the partner's display name, the install's."""
    assert_escaped(client.get(reverse("install:landing", args=[hostile["token"]])))


@pytest.mark.parametrize("model", [Account, Install, ApiKey, Partner])
def test_admin_pages_escape_names(db, hostile, model):
    """The admin's lists and change pages."""
    superuser = User.objects.create_superuser(email="support@hatchway.test", password=PASSWORD)
    staff = Client()
    staff.force_login(superuser)
    meta = model._meta
    assert_escaped(staff.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")))
    row = {Account: hostile["account"], Install: hostile["install"], ApiKey: hostile["key"],
           Partner: hostile["account"].partner}[model]
    assert_escaped(staff.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change",
                                     args=[row.pk])))
