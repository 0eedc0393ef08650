"""Accounts through the API: create (409 on a taken id), list, get, patch, delete."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import Install
from tests.api.helpers import call
from tests.factories import catalogue_connector


def test_create_then_409_on_a_taken_external_id(api, partner):
    """201 with the account; the same external id again is 409; audited with the key."""
    code, body = call(api, "post", "/api/v1/accounts", {"name": "Initech",
                                                        "external_id": "cust-1"})
    assert code == 201 and body["external_id"] == "cust-1" and body["name"] == "Initech"
    code, problem = call(api, "post", "/api/v1/accounts", {"name": "Other",
                                                           "external_id": "cust-1"})
    assert code == 409 and problem["type"] == "urn:hatchway:problem:duplicate_external_id"
    assert Account.objects.filter(partner=partner).count() == 1
    event = AuditEvent.objects.get(action="account.created")
    assert event.actor_label == "API key Backend" and event.actor is None


def test_the_same_external_id_at_another_partner_is_fine(api, other_partner):
    """External ids are unique per partner only."""
    Account.objects.create(partner=other_partner, name="Theirs", external_id="cust-1")
    assert call(api, "post", "/api/v1/accounts", {"name": "Mine",
                                                  "external_id": "cust-1"})[0] == 201


def test_missing_fields_are_400(api):
    """Name and external id are required: 400 naming both."""
    code, problem = call(api, "post", "/api/v1/accounts", {})
    assert code == 400 and set(problem["errors"]) == {"name", "external_id"}


def test_list_filters(api, partner, other_partner):
    """external_id and q filter the partner's own accounts."""
    for n, name in enumerate(["Initech", "Globex Corp", "Hooli"]):
        Account.objects.create(partner=partner, name=name, external_id=f"cust-{n}")
    Account.objects.create(partner=other_partner, name="Initech abroad", external_id="x")
    names = lambda page: sorted(a["name"] for a in page["results"])  # noqa: E731
    assert names(call(api, "get", "/api/v1/accounts")[1]) == ["Globex Corp", "Hooli", "Initech"]
    assert names(call(api, "get", "/api/v1/accounts?external_id=cust-2")[1]) == ["Hooli"]
    assert names(call(api, "get", "/api/v1/accounts?q=init")[1]) == ["Initech"]
    assert names(call(api, "get", "/api/v1/accounts?q=cust-1")[1]) == ["Globex Corp"]


def test_get_and_patch_by_external_id(api, partner):
    """GET and PATCH address the account by the partner's id; a taken id is 409."""
    Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    Account.objects.create(partner=partner, name="Hooli", external_id="cust-2")
    assert call(api, "get", "/api/v1/accounts/cust-1")[1]["name"] == "Initech"
    code, body = call(api, "patch", "/api/v1/accounts/cust-1", {"name": "Initech Ltd",
                                                                "external_id": "crm-1"})
    assert code == 200 and body == {**body, "name": "Initech Ltd", "external_id": "crm-1"}
    assert AuditEvent.objects.get(action="account.updated").detail["fields"] == [
        "external_id", "name"]
    code, _ = call(api, "patch", "/api/v1/accounts/crm-1", {"external_id": "cust-2"})
    assert code == 409 and Account.objects.get(name="Initech Ltd").external_id == "crm-1"
    assert call(api, "get", "/api/v1/accounts/cust-1")[0] == 404


def test_delete_revokes_and_deletes_the_installs(api, partner):
    """DELETE does what the console does: each install deleted (audited), then the account."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    connector = catalogue_connector("sandbox-api-key")
    for _ in range(2):
        Install.objects.create(account=account, connector=connector,
                               status=Install.Status.AUTHENTICATED,
                               credentials={"api_key": "fake-key-sec-1"},
                               authenticated_at=timezone.now())
    assert call(api, "delete", "/api/v1/accounts/cust-1")[0] == 204
    assert not Account.objects.exists() and not Install.objects.exists()
    assert AuditEvent.objects.filter(action="install.deleted").count() == 2
    deleted = AuditEvent.objects.get(action="account.deleted")
    assert deleted.actor_label == "API key Backend" and deleted.detail["external_id"] == "cust-1"


def test_constant_queries(api, partner, django_assert_max_num_queries):
    """The account list costs the same queries for 2 accounts or 40."""
    for n in range(40):
        Account.objects.create(partner=partner, name=f"Customer {n}", external_id=f"c-{n}")
    with django_assert_max_num_queries(3):
        assert len(call(api, "get", "/api/v1/accounts")[1]["results"]) == 40


def test_hidden_characters_in_a_name_are_400(api):
    """A bidi override in the name is a field error (400), not a 500; nothing is created."""
    status, body = call(api, "post", "/api/v1/accounts",
                        {"name": "Init\u202eech", "external_id": "cust-bidi"})
    assert status == 400 and "name" in body["errors"]
    assert not Account.objects.filter(external_id="cust-bidi").exists()
