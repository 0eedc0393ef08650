"""The "Needs attention" page, the account page's attention filter, the audit table partial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from audit import events as audit
from audit.models import AuditEvent
from core.fields import Unreadable
from installs.models import Install
from tests.installs.conftest import foreign_ciphertext, make_install, sandbox_oauth2_connector

URL = reverse("accounts:needs_attention")


@pytest.fixture
def rows(partner, other_partner):
    """One install of each kind at Acme, and a failing one at Globex."""
    connector = sandbox_oauth2_connector()
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    foreign = Account.objects.create(partner=other_partner, name="Umbrella", external_id="u-1")
    now = timezone.now()
    return {
        "account": account,
        "healthy": make_install(account, connector, n=1, name="Healthy CRM", expires_in=7200),
        "due": make_install(account, connector, n=2, name="Due CRM", expires_in=120),
        "failing": make_install(account, connector, n=3, name="Failing CRM",
                                status=Install.Status.REFRESH_FAILING, refresh_failures=2,
                                next_refresh_at=now + timedelta(minutes=3),
                                last_error="The token endpoint is unavailable (HTTP 503)."),
        "reauth": make_install(account, connector, n=4, name="Reauth CRM",
                               status=Install.Status.REAUTH_REQUIRED,
                               credentials=Unreadable(foreign_ciphertext({"x": "y"})),
                               last_error="Stored credentials could not be decrypted — "
                                          "re-enter credentials"),
        "foreign": make_install(foreign, connector, n=5, name="Umbrella CRM",
                                status=Install.Status.REFRESH_FAILING),
    }


def test_lists_due_failing_and_reauth_installs(admin_client, rows):
    """Reauth, failing (next attempt, last error) and due installs are listed, with links."""
    response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for key in ("reauth", "failing", "due"):
        install = rows[key]
        link = reverse("accounts:install", args=[install.account_id, install.pk])
        assert f'href="{link}"' in page and install.name in page
    assert "Healthy CRM" not in page and "Umbrella CRM" not in page
    assert page.index("Reauth CRM") < page.index("Failing CRM") < page.index("Due CRM")
    assert "Reauthentication required" in page and "Refresh failing" in page
    assert "Due for refresh" in page
    assert "The token endpoint is unavailable (HTTP 503)." in page
    assert "2 failed attempts" in page
    next_attempt = rows["failing"].next_refresh_at.strftime("%Y-%m-%d %H:%M")
    assert f"{next_attempt} UTC" in page
    assert "Stored credentials could not be decrypted" in page
    assert "All (3)" in page and "Refresh failing (1)" in page
    assert "fake-access" not in page and "fake-refresh" not in page


def test_filter_by_kind(admin_client, rows):
    """?show=failing lists only the failing install; an unknown value shows everything."""
    page = admin_client.get(URL, {"show": "failing"}).content.decode()
    assert "Failing CRM" in page and "Due CRM" not in page and "Reauth CRM" not in page
    page = admin_client.get(URL, {"show": "nonsense"}).content.decode()
    assert "Failing CRM" in page and "Due CRM" in page and "Reauth CRM" in page


def test_scoped_to_the_partner(other_client, rows):
    """Another partner sees only its own installs."""
    page = other_client.get(URL).content.decode()
    assert "Umbrella CRM" in page
    assert "Failing CRM" not in page and "Reauth CRM" not in page and "Initech" not in page


def test_viewer_may_look(viewer_client, rows):
    """The page is read-only: viewers see it too."""
    response = viewer_client.get(URL)
    assert response.status_code == 200 and "Failing CRM" in response.content.decode()


def test_login_required(client, rows):
    """Anonymous visitors are sent to the login page."""
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_nothing_to_show(admin_client, partner):
    """No installs needing attention → a clear empty state."""
    page = admin_client.get(URL).content.decode()
    assert "Nothing needs attention" in page and 'aria-current="page">Needs attention' in page


def test_constant_queries_and_no_decryption(admin_client, rows, monkeypatch):
    """The query count does not grow with the rows, and no credential is decrypted."""
    from core.fields import EncryptedJSONField

    def refuse(*args):
        raise AssertionError("the page decrypted a secret")

    admin_client.get(URL)  # warms what a first request fills (the session's last-seen, caches)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(URL)
    connector = sandbox_oauth2_connector()
    for n in range(20):
        make_install(rows["account"], connector, n=100 + n, status=Install.Status.REFRESH_FAILING)
    monkeypatch.setattr(EncryptedJSONField, "from_db_value", refuse)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL)
    assert response.status_code == 200 and "Install 119" in response.content.decode()
    assert len(many) == len(few)


def test_account_page_attention_filter(admin_client, rows):
    """The account page's "installs needing attention" filter hides healthy installs."""
    url = reverse("accounts:detail", args=[rows["account"].pk])
    page = admin_client.get(url).content.decode()
    assert "Healthy CRM" in page and "Show installs needing attention" in page
    page = admin_client.get(url, {"attention": "1"}).content.decode()
    assert "Healthy CRM" not in page
    assert "Due CRM" in page and "Failing CRM" in page and "Reauth CRM" in page
    assert "Show all installs" in page


def test_audit_events_partial(rows, alice):
    """The audit table shows time, actor, action and detail names — nothing else."""
    install = rows["failing"]
    audit.record("install.refresh_failed", partner=install.account.partner,
                 actor_label="token refresh", install=install, kind="unavailable", failures=2)
    audit.record("settings.saved", partner=install.account.partner, actor=alice,
                 fields=["client_id", "client_secret"])
    events = AuditEvent.objects.select_related("actor", "connector")
    html = render_to_string("audit/_events.html", {"events": events})
    assert "Token refresh failed" in html and "token refresh" in html
    assert "kind:</span> unavailable" in html and "failures:</span> 2" in html
    assert "alice@acme.test" in html and "fields:</span> client_id, client_secret" in html
    assert "No events yet." in render_to_string("audit/_events.html", {"events": []})
