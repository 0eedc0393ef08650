"""Single sign-on in Chromium: an admin sets it up on the "Single sign-on" page (discovery
at Authlib's OpenID Connect provider), then a colleague signs in with "Sign in with SSO"
-- the browser really goes to the provider and back -- and becomes a viewer."""

from __future__ import annotations

import pytest

from accounts.models import Membership, User
from teams.models import SingleSignOn
from tests.factories import PASSWORD
from tests.interop.test_oidc_sso import idp, oidc_base  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def live(live_server, transactional_db, settings):
    settings.PUBLIC_URL = live_server.url
    return live_server


def test_sso_is_set_up_and_signs_a_colleague_in(page, browser, live, alice, partner, idp):  # noqa: F811
    registered = idp.register(redirect_uri=f"{live.url}/login/sso/callback")
    page.goto(f"{live.url}/login/")
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live.url}/connectors/**")
    page.get_by_role("link", name="Single sign-on").click()
    redirect_uri = page.get_by_role("textbox", name="Redirect URI").input_value()
    assert redirect_uri == f"{live.url}/login/sso/callback"
    page.get_by_label("Allow sign-in with SSO").check()
    page.get_by_label("Issuer URL").fill(idp.base)
    page.get_by_label("Client ID").fill(registered.client_id)
    page.get_by_label("Client Secret").fill(registered.client_secret)
    page.get_by_label("Allowed email domains").fill("acme.test")
    page.get_by_role("button", name="Save Changes").click()
    page.get_by_text("Single sign-on settings saved.").wait_for()
    assert SingleSignOn.objects.get(partner=partner).enabled

    colleague = browser.new_page()
    try:
        colleague.goto(f"{live.url}/login/")
        colleague.get_by_role("button", name="Sign in with SSO").click()
        colleague.get_by_label("Work email").fill("nina@acme.test")
        colleague.get_by_role("button", name="Continue").click()
        colleague.wait_for_url(f"{live.url}/connectors/**")
        assert "nina@acme.test" in colleague.content()
    finally:
        colleague.close()
    nina = User.objects.get(email="nina@acme.test")
    assert nina.memberships.get().role == Membership.Role.VIEWER
