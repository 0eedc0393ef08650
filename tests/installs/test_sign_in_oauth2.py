"""OAuth 2.0 installs end to end against the sandbox (in-process), and every callback
failure from SECURITY.md "OAuth 2.0 callback"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from core.sessions import session_hash
from installs import refresh
from installs.models import AuthAttempt, Install
from installs.signin import start_authentication
from installs.values import method_for
from tests.factories import (
    CLIENT_SECRET,
    authenticate,
    client_for,
    consent,
    customer_session,
    fake_oauth2_connector,
    install_path,
    new_install,
    path_and_query,
    query,
    sandbox_oauth2,
)
from tests.fake_provider import HOST, FakeProvider, install_fake

STALE = "This sign-in link is no longer valid — restart the install"


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


@pytest.fixture
def install(account, sandbox_transport) -> Install:
    return new_install(account, sandbox_oauth2(account.partner), name="Initech CRM")


def connect(client: Client, install: Install) -> Any:
    """Authenticate, Allow on the consent page, follow the callback; return its response."""
    callback = consent(client, authenticate(client, install))
    return client.get(path_and_query(callback))


def token_requests(transport: Any) -> int:
    return sum(1 for call in transport.calls if call.url.endswith("/sandbox/oauth2/token"))


def test_authenticate_redirects_to_the_provider_with_state_and_pkce(admin_client, install):
    """The Authenticate POST starts an attempt and sends the browser to the authorize URL."""
    url = authenticate(admin_client, install)
    params = query(url)
    attempt = AuthAttempt.objects.get(install=install)
    assert url.startswith("http://testserver/sandbox/oauth2/authorize?")
    assert params["state"] == attempt.state
    assert params["redirect_uri"] == "http://testserver/connectors/sandbox-oauth2/callback"
    assert params["code_challenge_method"] == "S256"
    assert attempt.secrets["code_verifier"] not in url
    assert attempt.expires_at - timezone.now() <= timedelta(minutes=10)
    assert attempt.session_hash and attempt.used_at is None
    assert AuditEvent.objects.filter(action="install.auth_started", install=install).exists()


def test_full_flow_stores_encrypted_tokens_and_shows_authenticated(admin_client, install,
                                                                   sandbox_transport):
    """Allow at the sandbox → install Authenticated, tokens encrypted and on no page."""
    response = connect(admin_client, install)
    assert response.status_code == 302
    assert response["Location"] == install_path(install)
    assert response["Referrer-Policy"] == "no-referrer"
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert set(install.credentials) == {"access_token", "refresh_token", "token_type", "scope"}
    assert install.expires_at > timezone.now()
    assert install.token_info["scope"] == "read write"
    assert install.last_error == ""
    attempt = AuthAttempt.objects.get(install=install)
    assert attempt.used_at is not None and attempt.secrets == {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM accounts_install WHERE id = %s", [install.pk])
        raw = bytes(cursor.fetchone()[0])
    assert install.credentials["access_token"].encode() not in raw
    page = admin_client.get(response["Location"])
    html = page.content.decode()
    assert "Authenticated" in html and "is connected" in html
    for secret in install.credentials.values():
        if secret not in ("Bearer", "read write"):
            assert secret not in html
    assert AuditEvent.objects.filter(action="install.authenticated", install=install).exists()


def test_reauthenticate_keeps_the_same_install(admin_client, install):
    """Reauthenticate: the same install row gets new tokens."""
    connect(admin_client, install)
    install.refresh_from_db()
    first_token = install.credentials["access_token"]
    connect(admin_client, install)
    assert Install.objects.count() == 1
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    assert install.credentials["access_token"] != first_token


def test_denied_consent_shows_cancelled_and_stores_nothing(admin_client, install,
                                                           sandbox_transport):
    """Deny → "You cancelled" page, state consumed, status still Pending, no token request."""
    callback = consent(admin_client, authenticate(admin_client, install), decision="deny")
    response = admin_client.get(path_and_query(callback))
    assert response.status_code == 200
    assert "You cancelled" in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING
    assert install.credentials == {}
    assert AuthAttempt.objects.get(install=install).used_at is not None
    assert token_requests(sandbox_transport) == 0
    assert AuditEvent.objects.filter(action="install.cancelled", install=install).exists()


# --- state failures ---------------------------------------------------------------------


def assert_stale(response: Any) -> None:
    assert response.status_code == 400
    assert STALE in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_missing_and_unknown_state_are_refused(admin_client, install, sandbox_transport):
    """No state, or a state nobody issued: 400, no token request, nothing written."""
    assert_stale(admin_client.get("/connectors/callback?code=fake-code"))
    assert_stale(admin_client.get("/connectors/callback?code=fake-code&state=forged"))
    assert token_requests(sandbox_transport) == 0
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and install.credentials == {}


def test_reused_state_is_refused(admin_client, install, sandbox_transport):
    """The callback replayed: 400 and no second token request."""
    callback = consent(admin_client, authenticate(admin_client, install))
    assert admin_client.get(path_and_query(callback)).status_code == 302
    assert token_requests(sandbox_transport) == 1
    assert_stale(admin_client.get(path_and_query(callback)))
    assert token_requests(sandbox_transport) == 1


def test_expired_state_is_refused(admin_client, install, sandbox_transport):
    """An attempt older than 10 minutes: 400, consumed, no token request."""
    callback = consent(admin_client, authenticate(admin_client, install))
    AuthAttempt.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_stale(admin_client.get(path_and_query(callback)))
    assert token_requests(sandbox_transport) == 0
    attempt = AuthAttempt.objects.get()
    assert attempt.used_at is not None and attempt.secrets == {}
    install.refresh_from_db()
    assert install.credentials == {} and install.status == Install.Status.PENDING


def test_state_from_another_browser_session_is_refused(admin_client, alice, install,
                                                       sandbox_transport):
    """The same user in another browser (session) cannot complete the attempt."""
    callback = consent(admin_client, authenticate(admin_client, install))
    other_browser = client_for(alice)
    assert_stale(other_browser.get(path_and_query(callback)))
    assert token_requests(sandbox_transport) == 0
    assert AuthAttempt.objects.get().used_at is not None
    install.refresh_from_db()
    assert install.credentials == {}


def test_state_without_any_session_is_refused(admin_client, install, sandbox_transport):
    """A cookieless request (e.g. the link opened elsewhere) is refused."""
    callback = consent(admin_client, authenticate(admin_client, install))
    assert_stale(Client().get(path_and_query(callback)))
    assert token_requests(sandbox_transport) == 0


@pytest.mark.parametrize("query_string", [
    "code=a&code=b&state={state}",
    "code=a&state={state}&state={state}",
    "code=a&error=access_denied&state={state}",
    "code=" + "a" * 2100 + "&state={state}",
    "code=%FF%FE&state={state}",
    "code=a%00&state={state}",
])
def test_malformed_callbacks_are_refused(admin_client, install, sandbox_transport, query_string):
    """Duplicated, contradictory, oversized, non-UTF-8 or NUL parameters: 400, no token request."""
    state = query(authenticate(admin_client, install))["state"]
    response = admin_client.get("/connectors/sandbox-oauth2/callback",
                                QUERY_STRING=query_string.format(state=state))
    assert response.status_code == 400
    assert response["Referrer-Policy"] == "no-referrer"
    assert token_requests(sandbox_transport) == 0
    install.refresh_from_db()
    assert install.credentials == {}


def test_callback_accepts_only_get(admin_client):
    """Providers redirect with GET; a POST is refused and still carries no-referrer."""
    response = admin_client.post("/connectors/sandbox-oauth2/callback")
    assert response.status_code == 405
    assert response["Referrer-Policy"] == "no-referrer"


# --- provider errors on the callback ----------------------------------------------------


@pytest.mark.parametrize("error, retry", [("server_error", True),
                                          ("temporarily_unavailable", True),
                                          ("invalid_scope", False)])
def test_provider_errors_show_an_escaped_description(admin_client, install, error, retry):
    """Other errors → error page; the description escaped; retry offered when transient."""
    state = query(authenticate(admin_client, install))["state"]
    response = admin_client.get("/connectors/sandbox-oauth2/callback", {
        "error": error, "error_description": "<script>alert(1)</script>", "state": state})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ("Try again" in html) is retry
    assert "Hatchway" not in html
    install.refresh_from_db()
    assert install.status == Install.Status.ERROR and install.credentials == {}
    assert error in install.last_error


# --- token endpoint failures (fake provider) -------------------------------------------


@pytest.fixture
def fake(monkeypatch) -> FakeProvider:
    return install_fake(monkeypatch)


@pytest.fixture
def fake_install(account) -> Install:
    return new_install(account, fake_oauth2_connector(account.partner))


@pytest.mark.parametrize("canned, message", [
    ({"status": 400, "json_body": {"error": "invalid_grant"}}, "invalid_grant"),
    ({"status": 503, "text": "unavailable"}, "HTTP 503"),
    ({"status": 200, "text": "<html>oops</html>"}, "no access token"),
    ({"status": 200, "json_body": {"token_type": "Bearer"}}, "no access token"),
])
def test_token_endpoint_failures_leave_nothing_half_saved(admin_client, fake, fake_install,
                                                          canned, message):
    """invalid_grant, 5xx, non-JSON, no access_token: error page, status Error, no credentials."""
    fake.add("POST", f"{HOST}/token", **canned)
    state = query(authenticate(admin_client, fake_install))["state"]
    response = admin_client.get("/connectors/fake-oauth2/callback",
                                {"code": "fake-code-1", "state": state})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sign-in failed" in html and message in html
    assert CLIENT_SECRET not in html and "fake-code-1" not in html
    fake_install.refresh_from_db()
    assert fake_install.status == Install.Status.ERROR
    assert message in fake_install.last_error
    assert fake_install.credentials == {} and fake_install.expires_at is None
    assert AuditEvent.objects.get(action="install.auth_failed").detail["kind"] in (
        "invalid_grant", "unavailable", "token_error")


def test_token_endpoint_timeout_offers_a_retry(admin_client, fake, fake_install):
    """A timeout: error page with "Try again", nothing stored."""
    import requests

    fake.add("POST", f"{HOST}/token", raises=requests.Timeout("slow"))
    state = query(authenticate(admin_client, fake_install))["state"]
    html = admin_client.get("/connectors/fake-oauth2/callback",
                            {"code": "fake-code-1", "state": state}).content.decode()
    assert "timed out" in html and "Try again" in html
    fake_install.refresh_from_db()
    assert fake_install.credentials == {}


def test_failed_reauthentication_keeps_working_credentials(admin_client, fake, fake_install):
    """A failed reauthentication of an authenticated install keeps its tokens and status."""
    Install.objects.filter(pk=fake_install.pk).update(status=Install.Status.AUTHENTICATED)
    fake_install.refresh_from_db()
    fake_install.credentials = {"access_token": "fake-old-access"}
    fake_install.save()
    fake.add("POST", f"{HOST}/token", status=500)
    state = query(authenticate(admin_client, fake_install))["state"]
    admin_client.get("/connectors/fake-oauth2/callback", {"code": "fake-code-1", "state": state})
    fake_install.refresh_from_db()
    assert fake_install.status == Install.Status.AUTHENTICATED
    assert fake_install.credentials == {"access_token": "fake-old-access"}
    assert "HTTP 500" in fake_install.last_error


# --- status actions against the sandbox -------------------------------------------------


def whoami_status(transport: Any, install: Install) -> int:
    install = refresh.ensure_fresh(install)
    session = method_for(install).session(dict(install.credentials))
    return session.get("http://testserver/sandbox/api/me").status_code


def test_test_connection_reports_success(admin_client, install):
    """Test connection runs the verify request: success message and an audit event."""
    connect(admin_client, install)
    response = admin_client.post(install_path(install, "test"), follow=True)
    assert "Connection works" in response.content.decode()
    assert AuditEvent.objects.filter(action="install.verified", install=install).exists()


def test_deauthenticate_revokes_and_deletes_credentials(admin_client, install, sandbox_transport):
    """RFC 7009 revocation at the sandbox, local credentials deleted, install kept."""
    connect(admin_client, install)
    install.refresh_from_db()
    old = dict(install.credentials)
    assert whoami_status(sandbox_transport, install) == 200
    response = admin_client.post(install_path(install, "deauthenticate"), follow=True)
    assert "revoked the token" in response.content.decode()
    revoke = [c for c in sandbox_transport.calls if c.url.endswith("/sandbox/oauth2/revoke")]
    assert len(revoke) == 1 and "token_type_hint=refresh_token" in revoke[0].body
    install.refresh_from_db()
    assert install.status == Install.Status.DEAUTHENTICATED
    assert install.credentials == {} and install.expires_at is None
    assert install.token_info == {}
    install.credentials = old
    assert whoami_status(sandbox_transport, install) == 401
    event = AuditEvent.objects.get(action="install.deauthenticated")
    assert event.detail == {"revocation": "revoked"}


def test_deauthenticate_deletes_locally_when_the_provider_is_down(admin_client, fake,
                                                                  fake_install):
    """Revocation endpoint 503: the local credentials are deleted anyway."""
    fake_install.credentials = {"access_token": "fake-access", "refresh_token": "fake-refresh"}
    fake_install.status = Install.Status.AUTHENTICATED
    fake_install.save()
    fake.add("POST", f"{HOST}/revoke", status=503)
    response = admin_client.post(install_path(fake_install, "deauthenticate"),
                                 follow=True)
    assert "could not be reached" in response.content.decode()
    fake_install.refresh_from_db()
    assert fake_install.credentials == {}
    assert fake_install.status == Install.Status.DEAUTHENTICATED
    assert AuditEvent.objects.get(action="install.deauthenticated").detail == {
        "revocation": "unavailable"}


def test_refresh_rotates_tokens_at_the_sandbox(admin_client, install):
    """method.refresh against the sandbox: a new access and refresh token; the old one is dead."""
    from connectors.auth.base import InvalidGrant
    from installs.values import method_for

    connect(admin_client, install)
    install.refresh_from_db()
    method = method_for(install)
    old = dict(install.credentials)
    assert method.can_refresh(old)
    fresh = method.refresh(old)
    assert fresh.data["access_token"] != old["access_token"]
    assert fresh.data["refresh_token"] != old["refresh_token"]
    with pytest.raises(InvalidGrant):
        method.refresh(old)


# --- customer-visible pieces ------------------------------------------------------------


def test_callback_templates_are_neutral():
    """Customers may see callback pages: own layout, no console base, no platform name."""
    from pathlib import Path

    from django.conf import settings as django_settings

    folder = Path(django_settings.BASE_DIR) / "templates" / "callback"
    templates = list(folder.glob("*.html"))
    assert len(templates) >= 4
    for template in templates:
        text = template.read_text()
        assert "hatchway" not in text.lower(), template.name
        assert '{% extends "base.html" %}' not in text, template.name


def test_link_attempts_finish_on_the_install_link_pages(client, account, install):
    """An attempt started from an install link ends on the link's result page, connected."""
    from links import services as links

    link, _token = links.create_link(account=account, connectors=[install.connector])
    session = customer_session(client)  # the customer's browser session (anonymous)
    url = start_authentication(install=install, session_hash=session_hash(session, create=True),
                               link_id=link.pk)
    attempt = AuthAttempt.objects.get()
    assert attempt.install_link == link and attempt.created_by is None
    callback = consent(client, url)
    response = client.get(path_and_query(callback))
    assert response.status_code == 302
    assert response["Location"] == "/install/done/"
    assert response["Referrer-Policy"] == "no-referrer"
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    event = AuditEvent.objects.get(action="install.authenticated")
    assert event.actor is None and event.actor_label == "install link"
