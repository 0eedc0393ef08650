"""API keys: the console page, the command, authentication, last use and the rate limit."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from api.models import ApiKey
from audit.models import AuditEvent
from core.tokens import hash_token
from tests.api.helpers import bearer, make_key

KEY_RE = re.compile(r'id="api-key" value="(hw_[A-Za-z0-9_-]{43})" readonly')


def test_admin_creates_a_key_shown_once(admin_client, partner, alice):
    """Create API key: the key once in a read-only "API key" field; only its hash stored."""
    response = admin_client.post("/api-keys/", {"name": "Backend",
                                                "scopes": ["manage", "proxy"]})
    html = response.content.decode()
    assert response.status_code == 200 and '<label for="api-key">API key</label>' in html
    token = KEY_RE.search(html).group(1)
    key = ApiKey.objects.get()
    assert key.key_hash == hash_token(token) and token not in str(vars(key))
    assert key.scopes == ["manage", "proxy"] and key.created_by == alice
    assert key.prefix == token[:8]
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.actor == alice and token not in str(event.detail)
    listing = admin_client.get("/api-keys/").content.decode()
    assert token not in listing and key.prefix in listing and "Manage, Proxy" in listing
    assert "no-store" in response["Cache-Control"]


def test_the_form_needs_a_name_and_a_scope(admin_client):
    """No name or no scope: the form again with its errors, no key."""
    response = admin_client.post("/api-keys/", {"name": ""})
    assert response.status_code == 200 and b"Choose at least one scope." in response.content
    assert not ApiKey.objects.exists()


def test_viewer_sees_the_list_but_cannot_change_it(viewer_client, partner):
    """A viewer gets the list without the form; creating and revoking are 403."""
    key, _ = make_key(partner)
    page = viewer_client.get("/api-keys/")
    assert page.status_code == 200 and b"Backend" in page.content
    assert b"Create API key" not in page.content
    assert viewer_client.post("/api-keys/", {"name": "X", "scopes": ["manage"]}
                              ).status_code == 403
    assert viewer_client.post(f"/api-keys/{key.pk}/revoke/").status_code == 403
    assert ApiKey.objects.get().revoked_at is None


def test_nav_item(viewer_client):
    """The console's navigation has "API keys"."""
    html = viewer_client.get("/accounts/").content.decode()
    assert '<a href="/api-keys/">API keys</a>' in html


def test_revoke_then_401(admin_client, partner, alice):
    """Revoke: audited, and the key now gets 401."""
    key, token = make_key(partner)
    assert bearer(token).get("/api/v1/accounts").status_code == 200
    assert admin_client.post(f"/api-keys/{key.pk}/revoke/").status_code == 302
    assert bearer(token).get("/api/v1/accounts").status_code == 401
    assert AuditEvent.objects.get(action="api_key.revoked").actor == alice


def test_other_partners_key_cannot_be_revoked(other_client, partner):
    """Another partner's key id: 404."""
    key, _ = make_key(partner)
    assert other_client.post(f"/api-keys/{key.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get().is_active


def test_command_prints_the_key_alone(partner):
    """create_api_key prints only the key, which then works."""
    out = StringIO()
    call_command("create_api_key", "--partner", "acme", "--name", "CI",
                 "--scopes", "manage,credentials", stdout=out)
    token = out.getvalue().strip()
    assert re.fullmatch(r"hw_[A-Za-z0-9_-]{43}", token)
    assert ApiKey.objects.get(key_hash=hash_token(token)).scopes == ["credentials", "manage"]
    assert bearer(token).get("/api/v1/accounts").status_code == 200


@pytest.mark.parametrize("args", [["--partner", "nope", "--name", "X", "--scopes", "manage"],
                                  ["--partner", "acme", "--name", "X", "--scopes", "admin"]])
def test_command_refuses_unknown_partner_or_scope(partner, args):
    """An unknown partner or scope is an error; no key."""
    with pytest.raises(CommandError):
        call_command("create_api_key", *args, stdout=StringIO())
    assert not ApiKey.objects.exists()


def test_last_used_at_most_once_a_minute(api, key_token):
    """last_used_at is written on first use, then not again within the minute."""
    key = key_token[0]
    api.get("/api/v1/accounts")
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    api.get("/api/v1/accounts")
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get("/api/v1/accounts")
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first


def test_rate_limit_per_key(partner, settings):
    """Over API_RATE_LIMIT a key gets 429 with Retry-After; another key is unaffected."""
    settings.API_RATE_LIMIT = "3/min"
    busy, calm = bearer(make_key(partner)[1]), bearer(make_key(partner, name="Other")[1])
    assert [busy.get("/api/v1/accounts").status_code for _ in range(3)] == [200] * 3
    refused = busy.get("/api/v1/accounts")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused["Content-Type"] == "application/problem+json"
    assert calm.get("/api/v1/accounts").status_code == 200


@pytest.mark.parametrize("where", ["query", "x-api-key", "api-key-query", "basic"])
def test_a_key_anywhere_but_the_bearer_header_is_refused(client, partner, where):
    """A key in the query string (it would land in access logs and browser history) or in
    an X-API-Key header is not a credential: 401, and the key is not marked used."""
    key, token = make_key(partner)
    path, headers = "/api/v1/accounts", {}
    if where == "query":
        path += f"?access_token={token}"
    elif where == "api-key-query":
        path += f"?api_key={token}"
    elif where == "x-api-key":
        headers = {"X-API-Key": token}
    else:
        headers = {"Authorization": f"Basic {token}"}
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None


def test_rate_limit_ignores_forwarded_for_headers(partner, settings):
    """The per-key limit counts the key, not a client-chosen X-Forwarded-For or Forwarded:
    changing them on every call does not buy more calls."""
    settings.API_RATE_LIMIT = "3/min"
    token = make_key(partner)[1]
    statuses = [bearer(token).get("/api/v1/accounts", headers={
        "X-Forwarded-For": f"203.0.113.{n}", "X-Real-IP": f"198.51.100.{n}",
        "Forwarded": f"for=192.0.2.{n}"}).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
