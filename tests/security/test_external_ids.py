"""External ids (issue 19 item 13): no `/` (the API could never address the account), no
control characters and no invisible formatting characters (Unicode Cc and Cf: zero-width,
bidi); compared in NFC, so a look-alike second "café-42" cannot be created. The console,
the API and the services refuse alike. Rows written before the rule stay readable, and
`manage.py check_external_ids` lists them."""

from __future__ import annotations

import unicodedata
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import Account
from installs.accounts import DuplicateExternalId, create_account, update_account
from tests.api.helpers import bearer, call, make_key

MESSAGE = "External ids cannot contain"
BAD = {"slash": "cust/42", "zero-width space": "cust\u200b42", "bidi override": "cust\u202e24",
       "tab": "cust\t42", "escape": "cust\x1b42", "soft hyphen": "cust\u00ad42",
       "byte order mark": "\ufeffcust-42", "word joiner": "cust\u206042"}
COMPOSED = unicodedata.normalize("NFC", "café-42")
DECOMPOSED = unicodedata.normalize("NFD", "café-42")
assert COMPOSED != DECOMPOSED


@pytest.fixture
def api(partner):
    return bearer(make_key(partner)[1])


@pytest.mark.parametrize("external_id", BAD.values(), ids=BAD.keys())
def test_console_refuses_them(admin_client, partner, external_id):
    """New account and Edit: a field error saying why; nothing created or changed."""
    response = admin_client.post(reverse("accounts:create"),
                                 {"name": "Initech", "external_id": external_id})
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    assert not Account.objects.exists()
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    response = admin_client.post(reverse("accounts:edit", args=[account.pk]),
                                 {"name": "Initech", "external_id": external_id})
    assert response.status_code == 200 and MESSAGE in response.content.decode()
    account.refresh_from_db()
    assert account.external_id == "cust-1"


@pytest.mark.parametrize("external_id", BAD.values(), ids=BAD.keys())
def test_api_refuses_them(api, partner, external_id):
    """POST and PATCH: a 400 naming `external_id` with the message; nothing written."""
    code, problem = call(api, "post", "/api/v1/accounts",
                         {"name": "Initech", "external_id": external_id})
    assert code == 400 and MESSAGE in problem["errors"]["external_id"][0]
    Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    code, problem = call(api, "patch", "/api/v1/accounts/cust-1", {"external_id": external_id})
    assert code == 400 and MESSAGE in problem["errors"]["external_id"][0]
    assert list(Account.objects.values_list("external_id", flat=True)) == ["cust-1"]


@pytest.mark.parametrize("external_id", BAD.values(), ids=BAD.keys())
def test_services_refuse_them(partner, external_id):
    """Every other caller (commands, imports) goes through the services, which refuse too."""
    with pytest.raises(ValidationError):
        create_account(partner=partner, name="Initech", external_id=external_id, actor=None)
    account = create_account(partner=partner, name="Initech", external_id="cust-1", actor=None)
    with pytest.raises(ValidationError):
        update_account(account=account, actor=None, external_id=external_id)
    assert list(Account.objects.values_list("external_id", flat=True)) == ["cust-1"]


def test_ids_are_stored_in_nfc_and_a_lookalike_is_a_duplicate(api, admin_client, partner):
    """An id sent decomposed is stored composed; the other form of it is then a duplicate
    for the API (409), the console (field error) and the services."""
    code, body = call(api, "post", "/api/v1/accounts",
                      {"name": "Café", "external_id": DECOMPOSED})
    assert code == 201 and body["external_id"] == COMPOSED
    assert Account.objects.get().external_id == COMPOSED
    for lookalike in (COMPOSED, DECOMPOSED):
        code, problem = call(api, "post", "/api/v1/accounts",
                             {"name": "Café 2", "external_id": lookalike})
        assert code == 409, problem
        response = admin_client.post(reverse("accounts:create"),
                                     {"name": "Café 2", "external_id": lookalike})
        assert response.status_code == 200 and "already" in response.content.decode()
        with pytest.raises(DuplicateExternalId):
            create_account(partner=partner, name="Café 2", external_id=lookalike, actor=None)
    other = create_account(partner=partner, name="Other", external_id="cust-2", actor=None)
    with pytest.raises(DuplicateExternalId):
        update_account(account=other, actor=None, external_id=DECOMPOSED)
    assert Account.objects.count() == 2


def test_the_api_finds_an_account_by_either_form(api, partner):
    """GET by the decomposed form of a composed id finds the account (compared in NFC)."""
    Account.objects.create(partner=partner, name="Café", external_id=COMPOSED)
    code, body = call(api, "get", f"/api/v1/accounts/{DECOMPOSED}")
    assert code == 200 and body["name"] == "Café"
    code, page = call(api, "get", f"/api/v1/accounts?external_id={DECOMPOSED}")
    assert [a["name"] for a in page["results"]] == ["Café"]


@pytest.fixture
def legacy(partner) -> dict[str, Account]:
    """Rows written before the rule (straight to the table, as the old code let them)."""
    return {name: Account.objects.create(partner=partner, name=f"Legacy {name}",
                                         external_id=value)
            for name, value in [("slash", "cust/42"), ("zero-width", "cust\u200b43"),
                                ("decomposed", DECOMPOSED)]}


def test_legacy_rows_stay_readable(api, admin_client, legacy):
    """Listed and filtered by the API, found by their own id where a path can carry it,
    shown in the console; a rename keeps the id."""
    code, page = call(api, "get", "/api/v1/accounts")
    assert {a["external_id"] for a in page["results"]} == {a.external_id
                                                          for a in legacy.values()}
    for account in legacy.values():
        code, page = call(api, "get", "/api/v1/accounts?"
                          + f"external_id={account.external_id}".replace("/", "%2F"))
        assert [a["name"] for a in page["results"]] == [account.name]
        assert admin_client.get(reverse("accounts:detail", args=[account.pk])).status_code == 200
    for name in ("zero-width", "decomposed"):
        account = legacy[name]
        code, body = call(api, "get", f"/api/v1/accounts/{account.external_id}")
        assert code == 200 and body["name"] == account.name
        code, body = call(api, "patch", f"/api/v1/accounts/{account.external_id}",
                          {"name": "Renamed " + name})
        assert code == 200 and body["external_id"] == account.external_id
    account = legacy["slash"]
    response = admin_client.post(reverse("accounts:edit", args=[account.pk]),
                                 {"name": "Renamed slash", "external_id": account.external_id})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.external_id) == ("Renamed slash", "cust/42")


def test_a_legacy_decomposed_id_still_blocks_its_lookalike(api, legacy):
    """Uniqueness holds against rows written before NFC: the composed form is a 409."""
    code, _ = call(api, "post", "/api/v1/accounts", {"name": "New", "external_id": COMPOSED})
    assert code == 409
    assert Account.objects.count() == 3


def test_check_command_lists_rows_breaking_the_rule(partner, legacy):
    """`check_external_ids` names each such account, its partner and why, with the id
    escaped (a control character cannot forge the listing); it exits non-zero."""
    Account.objects.create(partner=partner, name="Fine", external_id="cust-1")
    out = StringIO()
    with pytest.raises(CommandError, match="3 accounts"):
        call_command("check_external_ids", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    text = out.getvalue()
    assert "'cust/42'" in text and "'cust\\u200b43'" in text and "acme" in text
    assert "/" in text and "not in NFC" in text and "Fine" not in text
    for account in legacy.values():
        assert f"account {account.pk}" in text


def test_check_command_is_quiet_when_all_is_well(partner):
    """No row breaks the rule: a one-line all-clear and exit status 0."""
    Account.objects.create(partner=partner, name="Fine", external_id="cust-1")
    out = StringIO()
    call_command("check_external_ids", stdout=out)
    assert out.getvalue().strip() == "Every external id follows the rules."


@pytest.fixture
def superuser_client(db):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.create_superuser(email="root@hatchway.test",
                                                     password="fake-password-123"))
    return client


def test_the_admin_applies_the_same_rule(superuser_client, partner, legacy):
    """Support staff adding or editing an account in the admin: the same refusals (a bad
    id, a look-alike of another account's), the id stored in NFC; a legacy id kept as is
    when only the name changes."""
    add = reverse("admin:accounts_account_add")
    for external_id in ("cust/9", "cust\u200b9", COMPOSED):
        response = superuser_client.post(add, {"partner": partner.pk, "name": "New",
                                               "external_id": external_id})
        assert response.status_code == 200, external_id
    assert not Account.objects.filter(name="New").exists()
    response = superuser_client.post(add, {"partner": partner.pk, "name": "New",
                                           "external_id": unicodedata.normalize("NFD", "né-1")})
    assert response.status_code == 302
    assert Account.objects.get(name="New").external_id == unicodedata.normalize("NFC", "né-1")
    slash = legacy["slash"]
    change = reverse("admin:accounts_account_change", args=[slash.pk])
    response = superuser_client.post(change, {"name": "Renamed", "external_id": "cust/42"})
    assert response.status_code == 302
    slash.refresh_from_db()
    assert (slash.name, slash.external_id) == ("Renamed", "cust/42")
    response = superuser_client.post(change, {"name": "Renamed", "external_id": "cust\u200b42"})
    assert response.status_code == 200 and MESSAGE in response.content.decode()
