"""GET /api/v1/events: the partner's audit log, filterable, constant queries."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Account
from audit import events as audit
from audit.models import AuditEvent
from installs.models import Install
from tests.api.helpers import call
from tests.factories import catalogue_connector


def actions(page) -> list[str]:
    return [e["action"] for e in page["results"]]


def test_filters(api, partner, other_partner):
    """account, install, action, since and until narrow the partner's own events."""
    initech = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    hooli = Account.objects.create(partner=partner, name="Hooli", external_id="cust-2")
    install = Install.objects.create(account=initech,
                                     connector=catalogue_connector("sandbox-api-key"))
    audit.record(audit.Action.ACCOUNT_CREATED, partner=partner, account=initech)
    audit.record(audit.Action.ACCOUNT_CREATED, partner=partner, account=hooli)
    audit.record(audit.Action.INSTALL_CREATED, partner=partner, install=install)
    audit.record(audit.Action.ACCOUNT_CREATED, partner=other_partner)
    old = audit.record(audit.Action.LINK_CREATED, partner=partner, account=hooli)
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    base = "/api/v1/events"
    every = call(api, "get", base)[1]
    assert actions(every).count("account.created") == 2
    assert [e["account"] for e in call(api, "get", f"{base}?account=cust-1")[1]["results"]] \
        == ["cust-1", "cust-1"]
    assert actions(call(api, "get", f"{base}?install={install.pk}")[1]) == ["install.created"]
    assert actions(call(api, "get", f"{base}?action=link.created")[1]) == ["link.created"]
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert "link.created" not in actions(call(api, "get", f"{base}?since={since}")[1])
    assert actions(call(api, "get", f"{base}?until={since}")[1]) == ["link.created"]
    assert call(api, "get", f"{base}?action=nope")[0] == 400


def test_constant_queries(api, partner, django_assert_max_num_queries):
    """The log costs the same queries for 1 event or 50."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    for _ in range(49):
        audit.record(audit.Action.ACCOUNT_UPDATED, partner=partner, account=account)
    with django_assert_max_num_queries(3):
        assert len(call(api, "get", "/api/v1/events")[1]["results"]) == 50
