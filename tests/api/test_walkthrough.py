"""The partner's whole journey through the API against the in-process sandbox: key →
account → install link → the customer signs in → credentials → proxy → refresh."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from installs.models import Install
from sandbox import services as sandbox
from sandbox.models import SandboxToken, digest
from sandbox.seeding import sandbox_accepts, seed_due_installs
from tests.api.helpers import bearer, call, make_key
from tests.factories import path_and_query, sandbox_oauth2
from tests.installs.test_refresh_concurrency import in_thread, slow_sandbox  # noqa: F401 (fixture)


def customer_signs_in(link_url: str) -> None:
    """The customer opens the install link, connects the sandbox and presses Allow."""
    browser = Client()
    landing = path_and_query(link_url)
    assert browser.get(landing).status_code == 200
    start = browser.post(f"{landing}connect/sandbox-oauth2/")
    assert start.status_code == 302
    provider = path_and_query(start["Location"])
    assert browser.get(provider).status_code == 200
    back = browser.post(provider, {"decision": "allow"})
    assert back.status_code == 302
    assert browser.get(path_and_query(back["Location"])).status_code == 302  # to the result


def sandbox_me(access_token: str):
    return Client().get("/sandbox/api/me", headers={"Authorization": f"Bearer {access_token}"})


@pytest.fixture
def sandbox_user(db):
    return sandbox.create_user(username="sandy", password="fake-password-123",
                               api_key="fake-api-key-123")


def test_walkthrough_all_through_the_api(partner, sandbox_transport, sandbox_user, caplog):
    """Key → account → link → consent → authenticated → credentials → proxy → refresh first."""
    caplog.set_level(logging.DEBUG)
    sandbox_oauth2(partner)
    _, token = make_key(partner)
    api = bearer(token)
    assert call(api, "post", "/api/v1/accounts",
                    {"name": "Initech", "external_id": "cust-1"})[0] == 201
    code, link = call(api, "post", "/api/v1/accounts/cust-1/install-links",
                          {"connectors": ["sandbox-oauth2"]})
    assert code == 201 and link["url"].startswith("http://testserver/install/")

    customer_signs_in(link["url"])
    code, page = call(api, "get", "/api/v1/accounts/cust-1/installs")
    assert [i["status"] for i in page["results"]] == ["authenticated"]
    install_id = page["results"][0]["id"]
    code, one = call(api, "get", f"/api/v1/installs/{install_id}")
    assert one["status"] == "authenticated" and one["connector"] == "sandbox-oauth2"
    assert one["token_info"]["scope"] == "read write" and one["account"] == "cust-1"

    response = api.get(f"/api/v1/installs/{install_id}/credentials")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    shared = response.json()
    assert shared["type"] == "oauth2"
    assert set(shared["credentials"]) == {"access_token", "token_type", "scope"}
    assert shared["base_url"] == "http://testserver/sandbox/api"
    me = sandbox_me(shared["credentials"]["access_token"])
    assert me.status_code == 200  # the sandbox accepts the token

    proxied = api.get(f"/api/v1/proxy/{install_id}/me")
    assert proxied.status_code == 200
    assert json.loads(b"".join(proxied.streaming_content)) == me.json()

    # The token expires: credentials and the proxy each refresh it first.
    old = shared["credentials"]["access_token"]
    Install.objects.filter(pk=install_id).update(expires_at=timezone.now() + timedelta(seconds=5))
    before = sandbox.refresh_count()
    fresh = api.get(f"/api/v1/installs/{install_id}/credentials").json()["credentials"]
    assert sandbox.refresh_count() == before + 1 and fresh["access_token"] != old
    assert sandbox_me(fresh["access_token"]).status_code == 200
    Install.objects.filter(pk=install_id).update(expires_at=timezone.now() + timedelta(seconds=5))
    proxied = api.get(f"/api/v1/proxy/{install_id}/me")
    assert proxied.status_code == 200 and sandbox.refresh_count() == before + 2

    stored = Install.objects.get(pk=install_id).credentials
    secrets = [stored["access_token"], stored["refresh_token"], old, token]
    events = json.dumps(list(AuditEvent.objects.values("detail", "actor_label")))
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in events
    reads = AuditEvent.objects.get(action="install.credentials_read")
    assert reads.actor_label == "API key Backend" and reads.detail["count"] == 2


def test_proxy_refreshes_once_on_a_provider_401(partner, sandbox_transport, sandbox_user):
    """A token the provider refuses (401) is force-refreshed once and the call retried."""
    seeded = seed_due_installs(partner, 1, expires_in=3600)
    install = seeded.installs[0]
    SandboxToken.objects.filter(token_hash=digest(install.credentials["access_token"])).update(
        expires_at=timezone.now() - timedelta(minutes=1))  # expired early: the provider says 401
    api = bearer(make_key(partner)[1])
    before = sandbox.refresh_count()
    response = api.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 200
    assert sandbox.refresh_count() == before + 1
    assert sandbox_accepts(Install.objects.get(pk=install.pk).credentials)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_two_concurrent_credential_reads_refresh_once(transactional_db, partner,
                                                      slow_sandbox):  # noqa: F811
    """Two concurrent GET /credentials on a due install: one upstream refresh, one token."""
    install = seed_due_installs(partner, 1).installs[0]
    token = make_key(partner)[1]

    def read() -> dict:
        response = bearer(token).get(f"/api/v1/installs/{install.pk}/credentials")
        return response.json()

    first, first_result = in_thread(read)
    assert slow_sandbox.in_flight.wait(5)
    second, second_result = in_thread(read)
    first.join(15)
    second.join(15)
    assert len(slow_sandbox.calls) == 1  # exactly one upstream refresh
    tokens = {r[0]["credentials"]["access_token"] for r in (first_result, second_result)}
    assert len(tokens) == 1
    assert sandbox_accepts(Install.objects.get(pk=install.pk).credentials)
