"""SECURITY.md "Token refresh under concurrency and outage": the loss window. Tokens are
committed as soon as the provider hands them over (the verify request comes after, and a
failed one puts the earlier credentials back), and refreshes wait REFRESH_TIMEOUT."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from audit.models import AuditEvent
from installs import refresh
from installs.models import Install
from installs.verification import check_connection
from tests.factories import (
    CLIENT_SECRET,
    TOKEN_JSON,
    TOKEN_URL,
    authenticate,
    make_connector,
    new_install,
    query,
    save_settings,
)
from tests.fake_provider import HOST, FakeProvider

VERIFY_URL = f"{HOST}/api/me"


class WatchingProvider(FakeProvider):
    """Records each request's timeout, and what the database holds when verify is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: dict[str, Any] = {}
        self.during_verify: list[tuple[str, dict[str, Any]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = (request.url or "").split("?")[0]
        self.timeouts[url] = kwargs.get("timeout")
        if url == VERIFY_URL:
            row = Install.objects.get(name="Verified CRM")
            self.during_verify.append((row.status, dict(row.credentials)))
        return super().send(request, **kwargs)


@pytest.fixture
def watching(monkeypatch) -> WatchingProvider:
    from connectors import http

    provider = WatchingProvider()
    monkeypatch.setattr(http, "transport", provider)
    return provider


@pytest.fixture
def verified_install(account) -> Install:
    """An OAuth 2.0 install whose connector checks new tokens with GET /api/me."""
    connector = make_connector("fake-verified", {
        "name": "Fake Verified", "description": "A fake provider with a verify request.",
        "auth": {"type": "oauth2", "authorize_url": f"{HOST}/authorize", "token_url": TOKEN_URL},
        "api": {"base_url": f"{HOST}/api", "verify": "GET /me"},
        "fields": [{"key": "client_id", "label": "Client ID"},
                   {"key": "client_secret", "label": "Client Secret", "secret": True}],
    })
    save_settings(account.partner, connector, {"client_id": "fake-client-id"},
                  {"client_secret": CLIENT_SECRET})
    return new_install(account, connector, name="Verified CRM")


def sign_in(client, install: Install) -> Any:
    state = query(authenticate(client, install))["state"]
    return client.get(f"/connectors/{install.connector.slug}/callback",
                      {"code": "fake-code-1", "state": state})


def test_tokens_are_committed_before_the_verify_request(admin_client, watching,
                                                        verified_install):
    """While verify runs the new tokens are already stored, the install not yet authenticated."""
    watching.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    watching.add("GET", VERIFY_URL, json_body={"id": "fake-user"})
    sign_in(admin_client, verified_install)
    [(status, stored)] = watching.during_verify
    assert status == Install.Status.PENDING
    assert stored["refresh_token"] == "fake-refresh-sec-1"
    install = Install.objects.get(pk=verified_install.pk)
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials["refresh_token"] == "fake-refresh-sec-1"
    assert AuditEvent.objects.filter(action="install.authenticated").count() == 1


def test_a_failed_verify_puts_nothing_half_saved(admin_client, watching, verified_install):
    """First sign-in, verify 401: status Error, no credentials left, no 'authenticated' event."""
    watching.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    watching.add("GET", VERIFY_URL, status=401)
    sign_in(admin_client, verified_install)
    install = Install.objects.get(pk=verified_install.pk)
    assert install.status == Install.Status.ERROR and install.credentials == {}
    assert install.expires_at is None and install.token_info == {}
    assert not AuditEvent.objects.filter(action="install.authenticated").exists()
    assert AuditEvent.objects.get(action="install.auth_failed").detail["kind"] == "verify_failed"


def test_a_failed_verify_on_reauthentication_keeps_the_working_tokens(admin_client, watching,
                                                                      verified_install):
    """Reauthenticating a working install, verify 401: the earlier tokens are back."""
    working = {"access_token": "fake-access-old", "refresh_token": "fake-refresh-old"}
    expires = timezone.now() + timedelta(hours=1)
    Install.objects.filter(pk=verified_install.pk).update(
        status=Install.Status.AUTHENTICATED, credentials=working, expires_at=expires)
    watching.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    watching.add("GET", VERIFY_URL, status=401)
    sign_in(admin_client, verified_install)
    install = Install.objects.get(pk=verified_install.pk)
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials == working and install.expires_at == expires


def test_refresh_requests_wait_refresh_timeout(settings, watching, verified_install):
    """A refresh gets REFRESH_TIMEOUT (30 s by default), longer than OUTBOUND_TIMEOUT."""
    assert settings.REFRESH_TIMEOUT == 30.0
    settings.REFRESH_TIMEOUT, settings.OUTBOUND_TIMEOUT = 42.0, 7.0
    Install.objects.filter(pk=verified_install.pk).update(
        status=Install.Status.AUTHENTICATED, expires_at=timezone.now() + timedelta(seconds=5),
        credentials={"access_token": "fake-access-old", "refresh_token": "fake-refresh-old"})
    watching.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    assert refresh.refresh_install(verified_install.pk) == refresh.REFRESHED
    assert watching.timeouts[TOKEN_URL] == 42.0
    install = Install.objects.get(pk=verified_install.pk)
    watching.add("GET", VERIFY_URL, json_body={"id": "fake-user"})
    assert check_connection(install=install, actor=None).ok
    assert watching.timeouts[VERIFY_URL] == 7.0
