"""SECURITY.md "OAuth 2.0 callback": the cases not already pinned in
tests/accounts/test_install_oauth2.py -- concurrent use of one state, binding to the
install, the Host header, Referrer-Policy on every outcome, links revoked mid-flight."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from connectors.auth.base import InvalidCallback
from core.sessions import session_hash
from installs import signin
from installs.models import AuthAttempt, Install
from links import services as links
from tests.factories import (
    CLIENT_SECRET,
    TOKEN_JSON,
    TOKEN_URL,
    authenticate,
    client_for,
    install_path,
    new_install,
    query,
)
from tests.fake_provider import HOST

CALLBACK = "/connectors/fake-oauth2/callback"  # the connector's own (RFC 9700 §4.4)


def browser_request(client: Client) -> Any:
    """A request carrying `client`'s browser session, as the callback view would see it."""
    request = RequestFactory().get(CALLBACK)
    request.session = client.session
    return request


def claim(state: str, request: Any) -> str:
    try:
        signin.claim_attempt(state=state, browser=signin.Browser(
            console_session=session_hash(request.session), customer_session=""),
            callback_url=f"http://testserver{CALLBACK}")
    except InvalidCallback:
        return "refused"
    return "claimed"


def test_two_simultaneous_callbacks_with_one_state_claim_it_once(admin_client, oauth2_install,
                                                                 monkeypatch):
    """Both callbacks read the unused attempt; the conditional UPDATE lets exactly one proceed."""
    state = query(authenticate(admin_client, oauth2_install))["state"]
    real_now, outcomes = timezone.now, []

    class Interleave:
        """Runs the second callback between the first one's read and its UPDATE."""

        calls = 0

        @staticmethod
        def now() -> Any:
            Interleave.calls += 1
            if Interleave.calls == 1:
                outcomes.append(("second", claim(state, browser_request(admin_client))))
            return real_now()

    monkeypatch.setattr(signin, "timezone", Interleave)
    outcomes.append(("first", claim(state, browser_request(admin_client))))
    assert outcomes == [("second", "claimed"), ("first", "refused")]
    attempt = AuthAttempt.objects.get()
    assert attempt.used_at is not None and attempt.secrets == {}


def test_state_completes_only_the_install_it_was_issued_for(admin_client, account, fake,
                                                            oauth2_install):
    """Two attempts in one browser: each state finishes its own install, not the other."""
    other = new_install(account, oauth2_install.connector, name="Second CRM")
    state = query(authenticate(admin_client, oauth2_install))["state"]
    authenticate(admin_client, other)
    fake.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    response = admin_client.get(CALLBACK, {"code": "fake-code-1", "state": state})
    assert response["Location"] == install_path(oauth2_install)
    oauth2_install.refresh_from_db()
    other.refresh_from_db()
    assert oauth2_install.status == Install.Status.AUTHENTICATED
    assert other.status == Install.Status.PENDING and other.credentials == {}
    assert AuthAttempt.objects.get(install=other).used_at is None


def test_another_users_browser_cannot_use_the_state(admin_client, alice, partner, fake,
                                                    oauth2_install):
    """A state sent to another logged-in browser (e.g. a phished link): 400, no token request."""
    from tests.factories import make_member

    state = query(authenticate(admin_client, oauth2_install))["state"]
    attacker = client_for(make_member(partner, "eve@acme.test", "admin"))
    response = attacker.get(CALLBACK, {"code": "fake-code-1", "state": state})
    assert response.status_code == 400
    assert fake.calls_to(TOKEN_URL) == []
    oauth2_install.refresh_from_db()
    assert oauth2_install.credentials == {}


def test_redirect_uri_comes_from_public_url_not_the_host_header(admin_client, fake,
                                                                oauth2_install, settings):
    """Host: evil.example changes neither the authorize nor the token request's redirect_uri
    (with the redirect to PUBLIC_URL's host off, so the pages are served on that host)."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.PUBLIC_HOST_REDIRECT = False
    settings.PUBLIC_URL = "https://console.example.com"
    expected = "https://console.example.com/connectors/fake-oauth2/callback"
    start = admin_client.post(install_path(oauth2_install, "authenticate"),
                              HTTP_HOST="evil.example")
    assert query(start["Location"])["redirect_uri"] == expected
    assert "evil.example" not in start["Location"]
    fake.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    admin_client.get(CALLBACK, {"code": "fake-code-1", "state": query(start["Location"])["state"]},
                     HTTP_HOST="evil.example")
    (token_request,) = fake.calls_to(TOKEN_URL)
    assert fake.form(token_request)["redirect_uri"] == expected
    page = admin_client.get(f"/connectors/{oauth2_install.connector.slug}/settings/",
                            HTTP_HOST="evil.example").content.decode()
    assert expected in page and "evil.example" not in page


def test_oauth1_callback_url_comes_from_public_url(admin_client, fake, oauth1_install, settings):
    """OAuth 1.0a: the oauth_callback sent with the request token uses PUBLIC_URL."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.PUBLIC_URL = "https://console.example.com"
    fake.add("POST", f"{HOST}/request_token",
             text="oauth_token=fake-rt&oauth_token_secret=fake-rts&oauth_callback_confirmed=true")
    admin_client.post(install_path(oauth1_install, "authenticate"), HTTP_HOST="evil.example")
    (request,) = fake.calls_to(f"{HOST}/request_token")
    header = fake.header(request, "Authorization")
    assert "https%3A%2F%2Fconsole.example.com%2Fconnectors%2Ffake-oauth1%2Fcallback" in header
    assert "evil" not in header


CALLBACK_CASES = [
    # (callback parameters, token endpoint answer or None, status)
    ({"code": "fake-code-1"}, {"json_body": TOKEN_JSON}, 302),
    ({"error": "access_denied"}, None, 200),
    ({"error": "temporarily_unavailable", "error_description": "<b>busy</b>"}, None, 200),
    ({"code": "fake-code-1"}, {"status": 500, "text": "boom"}, 200),
    ({"code": "fake-code-1"}, {"status": 200, "text": "<html>not json</html>"}, 200),
    ({"code": "fake-code-1", "state": "forged-state"}, None, 400),
    ({"code": "fake-code-1", "error": "access_denied"}, None, 400),
]


@pytest.mark.parametrize("params, answer, status", CALLBACK_CASES)
def test_every_callback_response_sends_no_referrer(admin_client, fake, oauth2_install, params,
                                                   answer, status):
    """Connected, cancelled, provider error, token failure, bad state, malformed: no-referrer,
    not cached, and the client secret nowhere in the page."""
    state = query(authenticate(admin_client, oauth2_install))["state"]
    if answer:
        fake.add("POST", TOKEN_URL, **answer)
    response = admin_client.get(CALLBACK, {"state": state, **params})
    assert response.status_code == status
    assert response["Referrer-Policy"] == "no-referrer"
    assert "max-age=0" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert CLIENT_SECRET not in response.content.decode()
    assert "fake-code-1" not in response.content.decode()


def test_temporarily_unavailable_offers_a_retry_and_escapes_the_description(
        admin_client, fake, oauth2_install):
    """temporarily_unavailable: "Try again" posts a fresh Authenticate; description escaped."""
    state = query(authenticate(admin_client, oauth2_install))["state"]
    html = admin_client.get(CALLBACK, {"state": state, "error": "temporarily_unavailable",
                                       "error_description": "<img src=x onerror=alert(1)>"}
                            ).content.decode()
    assert "Try again" in html
    assert f'action="{install_path(oauth2_install, "authenticate")}"' in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert fake.calls_to(TOKEN_URL) == []


# --- through install links ----------------------------------------------------------------


@pytest.fixture
def link_token(account, oauth2_install) -> str:
    _link, token = links.create_link(account=account, connectors=[oauth2_install.connector])
    return token


def start_through_link(client: Client, token: str, slug: str = "fake-oauth2") -> str:
    """The customer presses Connect; return the state on the provider URL."""
    response = client.post(f"/install/{token}/connect/{slug}/")
    assert response.status_code == 302 and response["Location"].startswith(f"{HOST}/authorize")
    return query(response["Location"])["state"]


def test_link_revoked_while_at_the_provider_connects_nothing(client, fake, link_token):
    """The partner revokes the link while the customer is at the provider: 400, no token."""
    state = start_through_link(client, link_token)
    links.InstallLink.objects.update(revoked_at=timezone.now())
    fake.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    response = client.get(CALLBACK, {"code": "fake-code-1", "state": state})
    assert response.status_code == 400
    assert response["Referrer-Policy"] == "no-referrer"
    assert fake.calls_to(TOKEN_URL) == []
    install = Install.objects.exclude(name="Fake CRM").get()
    assert install.status == Install.Status.PENDING and install.credentials == {}
    assert AuthAttempt.objects.get(install=install).secrets == {}


def test_connecting_twice_through_a_link_makes_one_pending_install(client, fake, link_token,
                                                                   oauth2_install):
    """A second Connect (back from the provider, or twice) reuses the pending install."""
    first, second = start_through_link(client, link_token), start_through_link(client, link_token)
    made = Install.objects.exclude(pk=oauth2_install.pk)
    assert made.count() == 1 and made.get().status == Install.Status.PENDING
    assert AuthAttempt.objects.filter(install=made.get()).count() == 2 and first != second
    fake.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    client.get(CALLBACK, {"code": "fake-code-1", "state": second})
    assert made.get().status == Install.Status.AUTHENTICATED
    start_through_link(client, link_token)  # an authenticated install is not reused
    assert Install.objects.exclude(pk=oauth2_install.pk).count() == 2


def test_a_link_never_takes_over_a_console_install(client, admin_client, fake, link_token,
                                                   oauth2_install):
    """A pending install an admin is signing in from the console is left alone."""
    authenticate(admin_client, oauth2_install)
    start_through_link(client, link_token)
    assert Install.objects.count() == 2
    assert AuthAttempt.objects.filter(install=oauth2_install).count() == 1


def test_link_expired_while_at_the_provider_connects_nothing(client, fake, link_token):
    """Started before the link expired, the sign-in cannot complete after it: 400, no token."""
    state = start_through_link(client, link_token)
    links.InstallLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    fake.add("POST", TOKEN_URL, json_body=TOKEN_JSON)
    response = client.get(CALLBACK, {"code": "fake-code-1", "state": state})
    assert response.status_code == 400
    assert fake.calls_to(TOKEN_URL) == []
    install = Install.objects.exclude(name="Fake CRM").get()
    assert install.status == Install.Status.PENDING and install.credentials == {}
    assert AuthAttempt.objects.get(install=install).secrets == {}


def test_link_provider_error_is_escaped_on_the_result_page(client, fake, link_token):
    """A customer's provider error: the result page escapes error_description, offers retry."""
    state = start_through_link(client, link_token)
    response = client.get(CALLBACK, {"state": state, "error": "server_error",
                                     "error_description": "<script>alert(1)</script>"})
    assert response.status_code == 302 and response["Referrer-Policy"] == "no-referrer"
    html = client.get(response["Location"]).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ">Try again</button>" in html  # the retry, on the page itself
