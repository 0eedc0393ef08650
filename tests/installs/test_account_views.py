"""Console pages for accounts and installs: lists, forms, status badges, refusals."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from core.fields import EncryptedJSONField
from installs.models import Install
from tests.factories import install_path, make_connector, new_install, save_settings

ZENDESK = {
    "name": "Helpdesk", "description": "Tickets.", "categories": ["Support"],
    "auth": {"type": "oauth2", "authorize_url": "https://{subdomain}.helpdesk.localhost/auth",
             "token_url": "https://{subdomain}.helpdesk.localhost/token"},
    "fields": [
        {"key": "client_id", "label": "Client ID"},
        {"key": "client_secret", "label": "Client Secret", "secret": True},
        {"key": "region", "label": "Region", "required": False},
        {"key": "subdomain", "label": "Subdomain", "level": "account",
         "help": "Your helpdesk name."},
        {"key": "agent_code", "label": "Agent code", "level": "account",
         "pattern": "^[0-9]{4}$"},
    ],
}


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def helpdesk(db):
    return make_connector("helpdesk", ZENDESK)


# --- accounts ------------------------------------------------------------------------


def test_account_list_searches_and_paginates(admin_client, partner, other_partner):
    """Search by name or external id; 25 per page; only this partner's accounts."""
    for n in range(30):
        Account.objects.create(partner=partner, name=f"Customer {n:02}", external_id=f"ext-{n}")
    Account.objects.create(partner=other_partner, name="Customer of Globex", external_id="g-1")
    html = admin_client.get("/accounts/").content.decode()
    assert "30 accounts" in html and "Customer 00" in html and "Customer 29" not in html
    assert "Globex" not in html
    last_shown = Account.objects.get(partner=partner, name="Customer 24")
    assert f'href="?after={last_shown.pk}" rel="next"' in html
    assert "Customer 29" in admin_client.get(f"/accounts/?after={last_shown.pk}").content.decode()
    by_id = admin_client.get("/accounts/?q=ext-17").content.decode()
    assert "Customer 17" in by_id and "Customer 16" not in by_id
    by_name = admin_client.get("/accounts/?q=customer 0").content.decode()
    assert "10 accounts" in by_name
    assert 'aria-current="page">Accounts' in html


@pytest.mark.parametrize("query", ["nul\x00byte", "x" * 5000])
def test_hostile_searches_are_ignored_not_an_error(admin_client, account, helpdesk, query):
    """A NUL byte (which PostgreSQL refuses) or an overlong search lists everything: no 500."""
    accounts = admin_client.get("/accounts/", {"q": query})
    assert accounts.status_code == 200 and "Initech" in accounts.content.decode()
    picker = admin_client.get(f"/accounts/{account.pk}/install/", {"q": query})
    assert picker.status_code == 200 and "Helpdesk" in picker.content.decode()


def test_create_account_and_duplicate_external_id(admin_client, partner, other_partner):
    """"New account" creates it; a duplicate external id is a friendly field error."""
    Account.objects.create(partner=other_partner, name="Elsewhere", external_id="cust-9")
    response = admin_client.post("/accounts/new/", {"name": "Initech", "external_id": "cust-9"})
    account = Account.objects.get(partner=partner)
    assert response["Location"] == f"/accounts/{account.pk}/"
    assert AuditEvent.objects.filter(action="account.created", account=account).exists()
    again = admin_client.post("/accounts/new/", {"name": "Other", "external_id": "cust-9"})
    assert again.status_code == 200
    assert "An account with this external id already exists." in again.content.decode()
    assert Account.objects.filter(partner=partner).count() == 1


def test_viewer_sees_accounts_but_cannot_create(viewer_client, account):
    """Viewers read (no "New account" button) and get 403 on POST."""
    html = viewer_client.get("/accounts/").content.decode()
    assert "Initech" in html and "New account" not in html
    response = viewer_client.post("/accounts/new/", {"name": "X", "external_id": "x"})
    assert response.status_code == 403
    assert Account.objects.count() == 1


def test_account_page_shows_status_badges_and_events(admin_client, account, helpdesk):
    """Each status reads as the product names it; Error shows its last error."""
    labels = {}
    for status in Install.Status:
        install = new_install(account, helpdesk, name=f"Install {status.value}", status=status,
                              last_error="Token endpoint said no" if status == "error" else "")
        labels[status] = install
    AuditEvent.objects.create(partner=account.partner, account=account, action="install.created",
                              connector=helpdesk)
    html = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    for text in ("Pending", "Authenticated", "Reauthentication required", "Error",
                 "Deauthenticated", "Refresh failing"):
        assert f">{text}</span>" in html
    assert "Token endpoint said no" in html
    assert "install.created" in html
    assert "Install connector" in html


def test_list_pages_never_decrypt(admin_client, account, helpdesk, monkeypatch):
    """Account list and account page load no encrypted column."""
    new_install(account, helpdesk, credentials={"access_token": "fake-token"})

    def refuse(*args, **kwargs):
        raise AssertionError("an encrypted column was loaded")

    monkeypatch.setattr(EncryptedJSONField, "from_db_value", refuse)
    assert admin_client.get("/accounts/").status_code == 200
    assert admin_client.get(f"/accounts/{account.pk}/").status_code == 200


# --- installing ------------------------------------------------------------------------


def test_install_picker_lists_active_connectors_searchably(admin_client, account, helpdesk):
    """Only active connectors; the search narrows the list."""
    make_connector("retired", {"name": "Retired App", "description": "Gone.",
                               "auth": {"type": "none"}})
    from connectors.models import Connector

    Connector.objects.filter(slug="retired").update(retired_at=timezone.now())
    make_connector("other", {"name": "Other App", "description": "Else.",
                             "auth": {"type": "none"}})
    html = admin_client.get(f"/accounts/{account.pk}/install/").content.decode()
    assert "Helpdesk" in html and "Other App" in html and "Retired App" not in html
    html = admin_client.get(f"/accounts/{account.pk}/install/?q=HELPD").content.decode()
    assert "Helpdesk" in html and "Other App" not in html
    assert admin_client.get(f"/accounts/{account.pk}/install/retired/").status_code == 404


def test_install_picker_cards_link_to_their_own_account(admin_client, partner, account,
                                                        helpdesk):
    """Picker cards are cached per account: each account's picker links to its own install."""
    second = Account.objects.create(partner=partner, name="Hooli", external_id="cust-2")
    for each in (account, second, account):
        html = admin_client.get(f"/accounts/{each.pk}/install/").content.decode()
        assert f'href="/accounts/{each.pk}/install/helpdesk/"' in html
        assert "Setup Required: its settings will be asked at install" in html


def test_install_form_asks_account_fields_and_partner_blanks_only(admin_client, account, helpdesk):
    """Saved partner values are not asked (nor shown); blanks and account fields are."""
    save_settings(account.partner, helpdesk, {"client_id": "partner-client-id"},
                  {"client_secret": "fake-partner-secret-123"})
    html = admin_client.get(f"/accounts/{account.pk}/install/helpdesk/").content.decode()
    assert 'name="install_name"' in html
    assert 'name="subdomain"' in html and "Your helpdesk name." in html
    assert 'name="agent_code"' in html
    assert 'name="region"' in html  # partner-level, left blank
    assert 'name="client_id"' not in html and 'name="client_secret"' not in html
    assert "partner-client-id" not in html and "fake-partner-secret-123" not in html


def test_install_form_secret_partner_blank_is_a_password_input(admin_client, account, helpdesk):
    """A partner secret left blank is asked as a password input; its value never echoes."""
    save_settings(account.partner, helpdesk, {"client_id": "partner-client-id"})
    response = admin_client.post(f"/accounts/{account.pk}/install/helpdesk/", {
        "client_secret": "fake-entered-secret-1", "subdomain": "bad value", "agent_code": "1234"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'type="password" name="client_secret"' in html
    assert "fake-entered-secret-1" not in html
    assert "letters, digits and hyphens only" in html
    assert not Install.objects.exists()


@pytest.mark.parametrize("subdomain", ["evil.com", "acme/../x", "a" * 64, "-acme", "acme:443"])
def test_values_used_in_urls_must_be_host_labels(admin_client, account, helpdesk, subdomain):
    """Anything but a plain host label is refused for a value that goes into a URL."""
    save_settings(account.partner, helpdesk, {"client_id": "c"}, {"client_secret": "s"})
    response = admin_client.post(f"/accounts/{account.pk}/install/helpdesk/", {
        "subdomain": subdomain, "agent_code": "1234"})
    assert response.status_code == 200
    assert "letters, digits and hyphens only" in response.content.decode()
    assert not Install.objects.exists()


def test_field_pattern_and_nul_are_field_errors(admin_client, account, helpdesk):
    """A value not matching the field's pattern, or with a NUL, is a field error (no 500)."""
    save_settings(account.partner, helpdesk, {"client_id": "c"}, {"client_secret": "s"})
    url = f"/accounts/{account.pk}/install/helpdesk/"
    html = admin_client.post(url, {"subdomain": "acme", "agent_code": "12a4"}).content.decode()
    assert "Enter a valid Agent code." in html
    response = admin_client.post(url, {"subdomain": "ac\x00me", "agent_code": "1234"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not Install.objects.exists()


def test_install_is_created_pending_with_values_split(admin_client, account, helpdesk):
    """Non-secret values in values, secrets encrypted in secret_values; audit has field names."""
    save_settings(account.partner, helpdesk, {"client_id": "c"})
    response = admin_client.post(f"/accounts/{account.pk}/install/helpdesk/", {
        "install_name": "EU desk", "client_secret": "fake-entered-secret-1",
        "subdomain": "acme", "agent_code": "1234"})
    install = Install.objects.get()
    assert response["Location"] == install_path(install)
    assert install.name == "EU desk" and install.status == Install.Status.PENDING
    assert install.values == {"subdomain": "acme", "agent_code": "1234"}
    assert install.secret_values == {"client_secret": "fake-entered-secret-1"}
    event = AuditEvent.objects.get(action="install.created")
    assert event.detail == {"fields": ["agent_code", "client_secret", "subdomain"]}
    page = admin_client.get(response["Location"]).content.decode()
    assert "Pending" in page and ">Authenticate</button>" in page
    assert "fake-entered-secret-1" not in page and "Set" in page


def test_edit_keeps_a_blank_secret(admin_client, account, helpdesk):
    """Editing with the secret left blank keeps the stored secret."""
    save_settings(account.partner, helpdesk, {"client_id": "c"})
    install = new_install(account, helpdesk, values={"subdomain": "acme", "agent_code": "1234"},
                          secret_values={"client_secret": "fake-entered-secret-1"})
    form = admin_client.get(install_path(install, "edit")).content.decode()
    assert "fake-entered-secret-1" not in form and "leave blank to keep it" in form
    admin_client.post(install_path(install, "edit"), {
        "subdomain": "globex", "agent_code": "1234", "client_secret": ""})
    install.refresh_from_db()
    assert install.values["subdomain"] == "globex"
    assert install.secret_values == {"client_secret": "fake-entered-secret-1"}


def test_actions_are_post_only_and_admin_only(viewer_client, account, helpdesk):
    """Viewers: 403 on every action (GET on POST-only actions: 405, on confirmation pages
    403), no action buttons."""
    install = new_install(account, helpdesk)
    for action in ("authenticate", "test", "deauthenticate", "delete", "edit"):
        assert viewer_client.post(install_path(install, action)).status_code == 403
    for action in ("authenticate", "test"):
        assert viewer_client.get(install_path(install, action)).status_code == 405
    assert viewer_client.get(install_path(install, "deauthenticate")).status_code == 403
    page = viewer_client.get(install_path(install)).content.decode()
    assert "Reauthenticate" not in page and ">Authenticate</button>" not in page
    assert Install.objects.filter(pk=install.pk).exists()


def test_csrf_is_required(alice, account, helpdesk):
    """A POST without a CSRF token is refused (403) and changes nothing."""
    install = new_install(account, helpdesk, status=Install.Status.AUTHENTICATED,
                          credentials={"access_token": "fake-token"})
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(install_path(install, "deauthenticate")).status_code == 403
    assert client.post(install_path(install, "delete")).status_code == 403
    install.refresh_from_db()
    assert install.credentials == {"access_token": "fake-token"}


def test_delete_asks_for_confirmation_then_deletes(admin_client, account, helpdesk):
    """GET shows a confirmation page; POST deletes and records install.deleted."""
    install = new_install(account, helpdesk, name="Old desk")
    confirm = admin_client.get(install_path(install, "delete"))
    assert "Delete Old desk?" in confirm.content.decode()
    assert Install.objects.filter(pk=install.pk).exists()
    response = admin_client.post(install_path(install, "delete"))
    assert response["Location"] == f"/accounts/{account.pk}/"
    assert not Install.objects.filter(pk=install.pk).exists()
    event = AuditEvent.objects.get(action="install.deleted")
    assert event.detail == {"install_id": install.pk, "revocation": "nothing_to_revoke",
                            "name": "Old desk", "status": "pending"}
    assert event.account == account


def test_authenticate_with_missing_partner_values_asks_for_them(admin_client, account, helpdesk):
    """Required values nobody entered: Authenticate leads to the edit form, nothing started."""
    install = new_install(account, helpdesk, values={"subdomain": "acme", "agent_code": "1234"})
    response = admin_client.post(install_path(install, "authenticate"), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == install_path(install, "edit") + "?authenticate=1"
    assert "Enter the Client ID and Client Secret first." in html
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING
