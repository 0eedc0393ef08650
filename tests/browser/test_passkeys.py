"""Passkeys in Chromium through the DevTools virtual authenticator (CDP WebAuthn): added on
the Security page, then used at login instead of an authentication code, or to sign in on
their own ("Sign in with a passkey", a discoverable credential)."""

from __future__ import annotations

import pytest

from audit.models import Action, AuditEvent
from teams.models import Passkey
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def live(live_server, transactional_db, settings):
    settings.PUBLIC_URL = live_server.url  # http://localhost:<port>: the relying party
    return live_server


def password_step(page, live, email: str) -> None:
    page.goto(f"{live.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def virtual_authenticator(page) -> None:
    """A platform authenticator that keeps discoverable credentials and verifies its user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})


def add_passkey(page, live) -> None:
    page.goto(f"{live.url}/security/")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("Passkey added.").wait_for()


def test_a_passkey_alone_signs_in(page, live, alice):
    """Added on the Security page (a resident key in the authenticator); after logging
    out, "Sign in with a passkey" on the login page signs in with no email, password or
    code, audited."""
    virtual_authenticator(page)
    password_step(page, live, alice.email)
    page.wait_for_url(f"{live.url}/connectors/**")
    add_passkey(page, live)

    page.context.clear_cookies()
    page.goto(f"{live.url}/login/?next=/accounts/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{live.url}/accounts/")
    assert "alice@acme.test" in page.content()
    assert Passkey.objects.get(user=alice).last_used_at is not None
    assert AuditEvent.objects.filter(action=Action.PASSKEY_LOGIN, actor=alice).exists()


def test_without_javascript_the_password_form_alone_works(browser, live, alice):
    """No script: the passkey offer stays hidden, the password logs in."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live.url}/login/")
        assert not page.get_by_role("button", name="Sign in with a passkey").is_visible()
        password_step(page, live, alice.email)
        page.wait_for_url(f"{live.url}/connectors/**")
    finally:
        context.close()


def test_a_passkey_is_added_and_then_signs_in(page, live, alice):
    """Virtual authenticator: Add a passkey (stored, audited); the next login asks for
    the second factor and the passkey completes it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})
    password_step(page, live, alice.email)
    page.wait_for_url(f"{live.url}/connectors/**")
    page.goto(f"{live.url}/security/")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("Passkey added.").wait_for()
    assert Passkey.objects.filter(user=alice).count() == 1
    assert AuditEvent.objects.filter(action=Action.PASSKEY_ADDED, actor=alice).exists()

    page.context.clear_cookies()
    password_step(page, live, alice.email)
    page.wait_for_url(f"{live.url}/login/code")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(f"{live.url}/connectors/**")
    assert "alice@acme.test" in page.content()
    assert Passkey.objects.get(user=alice).last_used_at is not None

