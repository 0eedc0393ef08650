"""Install links through the API: the console's rules (allowlisted return URL, at most 7
days, configured connectors only), shown once, revocable."""

from __future__ import annotations

import pytest

from accounts.models import Account
from audit.models import AuditEvent
from core.tokens import hash_token
from installs.models import Install
from links.models import InstallLink
from tests.api.helpers import call
from tests.factories import catalogue_connector, save_settings

CREATE = "/api/v1/accounts/cust-1/install-links"


@pytest.fixture
def account(partner):
    partner.allowed_return_origins = ["https://app.acme.test"]
    partner.save()
    save_settings(partner, catalogue_connector("sandbox-api-key"))
    catalogue_connector("sandbox-basic")  # not configured
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


def test_create_shows_the_url_once(api, account):
    """201 with id, url and expiry; only the token's hash is stored; audited with the key."""
    code, body = call(api, "post", CREATE, {"connectors": ["sandbox-api-key"],
                                            "expires_minutes": 30,
                                            "return_url": "https://app.acme.test/done"})
    assert code == 201 and set(body) == {"id", "url", "expires_at"}
    link = InstallLink.objects.get(pk=body["id"])
    assert link.token_hash == hash_token(body["url"].rstrip("/").rsplit("/", 1)[1])
    assert [c.slug for c in link.connectors.all()] == ["sandbox-api-key"]
    assert link.return_url == "https://app.acme.test/done"
    event = AuditEvent.objects.get(action="link.created")
    assert event.actor_label == "API key Backend" and body["url"] not in str(event.detail)


@pytest.mark.parametrize(("body", "field"), [
    ({"connectors": ["sandbox-oauth2"]}, "connectors"),
    ({"connectors": ["nope"]}, "connectors"),
    ({"connectors": ["sandbox-api-key"], "expires_minutes": 10081}, "expires_minutes"),
    ({"connectors": ["sandbox-api-key"], "expires_minutes": 0}, "expires_minutes"),
    ({"connectors": ["sandbox-api-key"], "return_url": "https://evil.test/x"}, "return_url"),
    ({"connectors": ["sandbox-api-key"], "reconnect_install": 999}, "reconnect_install"),
    ({}, "non_field_errors"),
])
def test_console_rules_hold(api, account, body, field):
    """Unconfigured connectors, over 7 days, a return URL off the allowlist, a foreign
    install or nothing to offer: 400 on that field, no link."""
    code, problem = call(api, "post", CREATE, body)
    assert code == 400 and field in problem["errors"], problem
    assert not InstallLink.objects.exists()


def test_reconnect_an_install(api, account):
    """reconnect_install: a link for that install of the account."""
    install = Install.objects.create(account=account,
                                     connector=catalogue_connector("sandbox-api-key"))
    code, body = call(api, "post", CREATE, {"reconnect_install": install.pk})
    assert code == 201 and InstallLink.objects.get().install == install


def test_revoke(api, account):
    """DELETE revokes (audited); the link then no longer opens."""
    link_id = call(api, "post", CREATE, {"connectors": ["sandbox-api-key"]})[1]["id"]
    assert call(api, "delete", f"/api/v1/install-links/{link_id}")[0] == 204
    assert InstallLink.objects.get().state == "revoked"
    assert AuditEvent.objects.get(action="link.revoked").actor_label == "API key Backend"
    assert call(api, "delete", f"/api/v1/install-links/{link_id}")[0] == 204  # idempotent
