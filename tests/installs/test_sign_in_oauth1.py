"""OAuth 1.0a installs end to end against the sandbox (in-process), and the failures from
SECURITY.md "OAuth 1.0a callback"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import AuthAttempt, Install
from tests.factories import (
    authenticate,
    consent,
    fake_oauth1_connector,
    install_path,
    new_install,
    path_and_query,
    query,
    sandbox_oauth1,
)
from tests.fake_provider import HOST, FakeProvider, install_fake


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def install(account, sandbox_transport) -> Install:
    return new_install(account, sandbox_oauth1(account.partner))


def access_token_requests(transport: Any) -> int:
    return sum(1 for c in transport.calls if c.url.endswith("/sandbox/oauth1/access_token"))


def test_authenticate_gets_a_request_token_and_keeps_its_secret_encrypted(admin_client, install):
    """The attempt holds the request token; its secret is encrypted; the URL carries neither."""
    url = authenticate(admin_client, install)
    attempt = AuthAttempt.objects.get(install=install)
    assert url.startswith("http://testserver/sandbox/oauth1/authorize?")
    assert query(url)["oauth_token"] == attempt.request_token
    secret = attempt.secrets["request_token_secret"]
    assert secret and secret not in url


def test_full_flow_authenticates(admin_client, install, sandbox_transport):
    """Allow → callback with state, token and verifier → Authenticated, attempt secrets gone."""
    callback = consent(admin_client, authenticate(admin_client, install))
    params = query(callback)
    assert params["state"] == AuthAttempt.objects.get().state
    assert "oauth_verifier" in params
    response = admin_client.get(path_and_query(callback))
    assert response.status_code == 302
    assert response["Referrer-Policy"] == "no-referrer"
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert set(install.credentials) == {"oauth_token", "oauth_token_secret"}
    assert AuthAttempt.objects.get().secrets == {}
    page = admin_client.get(response["Location"]).content.decode()
    assert "Authenticated" in page
    assert install.credentials["oauth_token_secret"] not in page
    assert install.credentials["oauth_token"] not in page


def test_denied_is_cancelled(admin_client, install, sandbox_transport):
    """Deny → `denied=` on the callback → "You cancelled", nothing stored."""
    callback = consent(admin_client, authenticate(admin_client, install), decision="deny")
    assert "denied" in query(callback)
    response = admin_client.get(path_and_query(callback))
    assert "You cancelled" in response.content.decode()
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and install.credentials == {}
    assert AuthAttempt.objects.get().secrets == {}
    assert access_token_requests(sandbox_transport) == 0


def test_another_oauth_token_is_rejected(admin_client, install, sandbox_transport):
    """oauth_token not the one issued to this attempt → 400, no exchange, secret deleted."""
    callback = consent(admin_client, authenticate(admin_client, install))
    params = query(callback)
    params["oauth_token"] = "someone-elses-token"
    response = admin_client.get("/connectors/sandbox-oauth1/callback", params)
    assert response.status_code == 400
    assert access_token_requests(sandbox_transport) == 0
    assert AuthAttempt.objects.get().secrets == {}
    install.refresh_from_db()
    assert install.credentials == {} and install.status == Install.Status.PENDING


def test_missing_verifier_is_a_bad_request(admin_client, install, sandbox_transport):
    """No oauth_verifier → 400 (requests-oauthlib would only notice later)."""
    callback = consent(admin_client, authenticate(admin_client, install))
    params = query(callback)
    del params["oauth_verifier"]
    response = admin_client.get("/connectors/sandbox-oauth1/callback", params)
    assert response.status_code == 400
    assert "oauth_verifier" in response.content.decode()
    assert access_token_requests(sandbox_transport) == 0
    assert AuditEvent.objects.get(action="install.auth_failed").detail["kind"] == (
        "invalid_callback")


def test_replayed_callback_is_refused(admin_client, install, sandbox_transport):
    """The request token secret is single use: a replay is a 400 with no exchange."""
    callback = consent(admin_client, authenticate(admin_client, install))
    admin_client.get(path_and_query(callback))
    assert access_token_requests(sandbox_transport) == 1
    response = admin_client.get(path_and_query(callback))
    assert response.status_code == 400
    assert access_token_requests(sandbox_transport) == 1



@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


@pytest.fixture
def fake_install(account) -> Install:
    return new_install(account, fake_oauth1_connector(account.partner))


def test_unconfirmed_callback_aborts_before_any_redirect(admin_client, fake, fake_install):
    """oauth_callback_confirmed missing → no redirect to the provider, status Error, no attempt."""
    fake.add("POST", f"{HOST}/request_token", text="oauth_token=t&oauth_token_secret=s")
    response = admin_client.post(install_path(fake_install, "authenticate"),
                                 follow=True)
    assert response.redirect_chain[-1][0] == install_path(fake_install)
    assert "oauth_callback_confirmed" in response.content.decode()
    assert not AuthAttempt.objects.exists()
    fake_install.refresh_from_db()
    assert fake_install.status == Install.Status.ERROR


def test_access_token_failure_deletes_the_request_token_secret(admin_client, fake, fake_install):
    """Access token exchange fails → error page, attempt secret deleted, nothing stored."""
    fake.add("POST", f"{HOST}/request_token",
             text="oauth_token=fake-rt&oauth_token_secret=fake-rts&oauth_callback_confirmed=true")
    fake.add("POST", f"{HOST}/access_token", status=401, text="oauth_problem=nope")
    url = authenticate(admin_client, fake_install)
    state = AuthAttempt.objects.get().state
    assert query(url)["oauth_token"] == "fake-rt"
    response = admin_client.get("/connectors/fake-oauth1/callback", {
        "state": state, "oauth_token": "fake-rt", "oauth_verifier": "fake-verifier"})
    assert "Sign-in failed" in response.content.decode()
    attempt = AuthAttempt.objects.get()
    assert attempt.secrets == {} and attempt.used_at <= timezone.now()
    fake_install.refresh_from_db()
    assert fake_install.credentials == {} and fake_install.status == Install.Status.ERROR


def test_an_abandoned_attempt_loses_its_secret_when_the_install_starts_again(
        admin_client, install):
    """An expired, never-completed attempt's request-token secret is deleted on the next start."""
    authenticate(admin_client, install)
    AuthAttempt.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    authenticate(admin_client, install)
    old, new = AuthAttempt.objects.order_by("pk")
    assert old.secrets == {} and old.used_at is not None
    assert new.secrets["request_token_secret"] and new.used_at is None
