"""No refresh storm through the proxy (issue 19 item 9).

A provider answering 401 to every call used to cost one real token refresh per proxied
call. Concurrent 401s on one install share one refresh, and after a refresh another 401
within PROXY_REFRESH_COOLDOWN is passed back without refreshing.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from accounts.models import Account
from api.models import Scope
from installs.models import Install
from tests.api.helpers import bearer, make_key
from tests.factories import make_connector, save_settings
from tests.fake_provider import HOST, FakeProvider, install_fake

TOKEN_URL = f"{HOST}/token"
API = f"{HOST}/v1"


@pytest.fixture
def provider(monkeypatch) -> FakeProvider:
    fake = install_fake(monkeypatch)
    for n in range(1, 30):  # a new token pair per refresh (the last one repeats)
        fake.add("POST", TOKEN_URL, json_body={
            "access_token": f"fake-access-{n + 1}", "refresh_token": f"fake-refresh-{n + 1}",
            "token_type": "Bearer", "expires_in": 3600})
    fake.add("GET", f"{API}/me", status=401, text="token not accepted")
    return fake


@pytest.fixture
def install(partner) -> Install:
    connector = make_connector("fake-oauth", {
        "name": "Fake OAuth", "description": "A fake OAuth 2.0 provider.",
        "auth": {"type": "oauth2", "authorize_url": f"{HOST}/authorize",
                 "token_url": TOKEN_URL},
        "api": {"base_url": API},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True}],
    })
    save_settings(partner, connector, {"client_id": "fake-client"},
                  {"client_secret": "fake-client-secret"})
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    return Install.objects.create(
        account=account, connector=connector, status=Install.Status.AUTHENTICATED,
        credentials={"access_token": "fake-access-1", "refresh_token": "fake-refresh-1",
                     "token_type": "Bearer"},
        expires_at=timezone.now() + timedelta(hours=1), authenticated_at=timezone.now())


def refreshes(provider: FakeProvider) -> int:
    return len(provider.calls_to(TOKEN_URL))


@pytest.mark.django_db
def test_repeated_401s_refresh_once_within_the_cooldown(partner, install, provider, settings):
    """Twenty calls answered 401: one refresh; each 401 is passed back to the caller."""
    settings.PROXY_REFRESH_COOLDOWN = 30
    api = bearer(make_key(partner, Scope.PROXY)[1])
    for _ in range(20):
        assert api.get(f"/api/v1/proxy/{install.pk}/me").status_code == 401
    assert refreshes(provider) == 1
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials["access_token"] == "fake-access-2"


@pytest.mark.django_db
def test_after_the_cooldown_a_401_refreshes_again(partner, install, provider, settings):
    """Once PROXY_REFRESH_COOLDOWN has passed since the last refresh, a 401 refreshes."""
    settings.PROXY_REFRESH_COOLDOWN = 30
    api = bearer(make_key(partner, Scope.PROXY)[1])
    assert api.get(f"/api/v1/proxy/{install.pk}/me").status_code == 401
    Install.objects.filter(pk=install.pk).update(
        last_refreshed_at=timezone.now() - timedelta(seconds=31))
    assert api.get(f"/api/v1/proxy/{install.pk}/me").status_code == 401
    assert refreshes(provider) == 2


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_concurrent_401s_share_one_refresh(transactional_db, partner, install, provider,
                                           settings):
    """Eight concurrent calls on one install, all answered 401: one refresh between them."""
    settings.PROXY_REFRESH_COOLDOWN = 30
    token = make_key(partner, Scope.PROXY)[1]
    clients = [bearer(token) for _ in range(8)]
    for client in clients:  # each loads its middleware once, here rather than in a race
        client.get("/healthz/live")
    start = threading.Barrier(8)
    statuses: list[int] = []

    def call(client) -> None:
        try:
            start.wait(5)
            statuses.append(client.get(f"/api/v1/proxy/{install.pk}/me").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [401] * 8
    assert refreshes(provider) == 1
