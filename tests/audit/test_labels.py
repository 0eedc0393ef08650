"""The audit table reads as the product speaks: readable actions and detail values."""

from __future__ import annotations

from django.template.loader import render_to_string

from accounts.models import Account
from audit import events as audit
from audit.models import ACTION_LABELS, AuditEvent
from installs.models import Install
from installs.templatetags.audit_events import audit_action, audit_detail
from tests.factories import make_connector

API_KEY = {"name": "Desk", "description": "Tickets.", "auth": {"type": "api_key",
                                                               "header": "X-API-Key"},
           "fields": [{"key": "api_key", "label": "API key", "level": "account",
                       "secret": True}]}


def test_every_written_action_has_a_label():
    """The actions services write have readable names; unknown codes pass through."""
    for code in ("account.created", "install.created", "install.authenticated",
                 "install.auth_failed", "install.deauthenticated", "link.created",
                 "settings.saved", "branding.saved", "install.verified"):
        assert audit_action(code) != code
    assert audit_action("install.authenticated") == "Install authenticated"
    assert audit_action("something.new") == "something.new"
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS)
    assert not set(ACTION_LABELS.values()) & set(Install.Status.labels)


def test_detail_codes_become_words():
    """Auth types and statuses use their labels; ISO timestamps are shown in UTC."""
    pairs = dict(audit_detail({"auth_type": "oauth2_client_credentials",
                               "previous_status": "reauth_required",
                               "revocation": "not_supported",
                               "expires_at": "2026-11-28T13:52:04.102748+00:00",
                               "kind": "verify_failed", "fields": ["api_key"]}))
    assert pairs["auth type"] == "OAuth 2.0 client credentials"
    assert pairs["previous status"] == "Reauthentication required"
    assert pairs["revocation"] == "not offered by the provider"
    assert pairs["expires at"] == "2026-11-28 13:52 UTC"
    assert pairs["kind"] == "verify_failed" and pairs["fields"] == "api_key"


def test_account_page_shows_labels_and_keeps_codes_for_support(admin_client, partner, alice):
    """The account page shows "Install authenticated", the code only as the hover title."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="c-1")
    install = Install.objects.create(account=account, connector=make_connector("desk", API_KEY))
    audit.record("install.authenticated", partner=partner, actor=alice, install=install,
                 auth_type="api_key", previous_status="pending", verified=True)
    html = admin_client.get(f"/accounts/{account.pk}/").content.decode()
    assert '<span title="install.authenticated">Install authenticated</span>' in html
    assert "auth type:</span> API key" in html and "previous status:</span> Pending" in html
    events = AuditEvent.objects.select_related("actor", "connector")
    assert ">install.authenticated<" not in render_to_string(
        "audit/_events.html", {"events": events})
