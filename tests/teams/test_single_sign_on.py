"""Single sign-on's rules that need no identity provider (teams/single_sign_on.py): Require
SSO at every password entry, the recovery link's refusals, the domain lookup, and what the
admin pages show. The protocol itself is tested against Authlib's OpenID Connect provider
in tests/interop/test_oidc_sso.py."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from audit.models import AuditEvent
from teams import single_sign_on as rules
from teams.models import SingleSignOn, SingleSignOnDomain
from tests.factories import PASSWORD
from tests.teams.conftest import invite, last_link

PROVIDER = {"issuer": "https://idp.example", "authorization_endpoint": "https://idp.example/a",
            "token_endpoint": "https://idp.example/t", "jwks_uri": "https://idp.example/k",
            "token_auth": "client_secret_basic", "algorithms": ["RS256"]}


def sso_for(partner, *domains: str, require: bool = False) -> SingleSignOn:
    sso = SingleSignOn.objects.create(partner=partner, enabled=True, issuer=PROVIDER["issuer"],
                                      client_id="client-1", provider=PROVIDER,
                                      secrets={"client_secret": "fake-client-secret-1"},
                                      require_sso=require)
    for domain in domains:
        SingleSignOnDomain.objects.create(sso=sso, domain=domain)
    return sso


def test_the_email_domain_finds_the_partner(partner, other_partner):
    acme = sso_for(partner, "acme.test")
    sso_for(other_partner, "globex.test")
    assert rules.for_email("Nina@ACME.test") == acme
    assert rules.for_email("nina@sub.acme.test") is None  # exact domains only
    SingleSignOn.objects.filter(pk=acme.pk).update(enabled=False)
    assert rules.for_email("nina@acme.test") is None


def test_require_sso_refuses_the_password_of_an_invited_existing_user(admin_client, mallory,
                                                                      other_partner, partner):
    """Mallory's own partner requires SSO: accepting Acme's invitation with her password
    is refused, and she joins nothing."""
    sso_for(other_partner, "globex.test", require=True)
    invite(admin_client, "mallory@globex.test", "viewer")
    path, _ = last_link()
    response = Client().post(path, {"password": PASSWORD})
    assert response.status_code == 403
    assert "requires single sign-on" in response.content.decode()
    assert not Membership.objects.filter(user=mallory, partner=partner).exists()


def test_without_require_sso_the_password_still_signs_in(client, alice, partner):
    sso_for(partner, "acme.test")
    response = client.post(reverse("login"), {"username": "alice@acme.test",
                                              "password": PASSWORD})
    assert response.status_code == 302
    page = Client().get(reverse("login")).content.decode()
    assert "Sign in with SSO" in page


def test_the_login_page_offers_sso_only_when_a_partner_has_it(db):
    assert "Sign in with SSO" not in Client().get(reverse("login")).content.decode()


def test_recovery_links_are_for_admins_only(victor, partner):
    with pytest.raises(CommandError, match="not an admin"):
        call_command("sso_recovery_link", "victor@acme.test", stdout=StringIO())
    with pytest.raises(CommandError, match="No active user"):
        call_command("sso_recovery_link", "nobody@acme.test", stdout=StringIO())
    assert not AuditEvent.objects.filter(action="login.recovery_link_issued").exists()


def test_a_forged_or_foreign_recovery_link_is_refused(client, alice, victor):
    out = StringIO()
    call_command("sso_recovery_link", "alice@acme.test", stdout=out, stderr=StringIO())
    path = out.getvalue().strip().removeprefix("http://testserver")
    _, _, _, uid, token, _ = path.split("/")
    victor_uid = path.replace(uid, "Mg")  # another user's id with alice's token
    for bad in (path.replace(token, token[:-3] + "abc"), victor_uid,
                reverse("teams:recovery_sign_in", args=["!!", token])):
        response = client.post(bad)
        assert response.status_code == 410 and "not valid" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_recovery_link_expires_and_dies_with_a_password_change(alice, settings):
    """Valid PASSWORD_RESET_TIMEOUT seconds; a new password voids it at once."""
    token = rules.recovery_tokens.make_token(alice)
    assert rules.recovery_tokens.check_token(alice, token)
    settings.PASSWORD_RESET_TIMEOUT = -1
    assert not rules.recovery_tokens.check_token(alice, token)
    settings.PASSWORD_RESET_TIMEOUT = 3600
    alice.set_password("fake-new-password-5r8")
    alice.save()
    assert not rules.recovery_tokens.check_token(alice, token)


def test_the_settings_page_is_in_the_admins_navigation(admin_client, viewer_client):
    assert reverse("sso:settings") in admin_client.get(reverse("teams:members")).content.decode()
    assert reverse("sso:settings") not in viewer_client.get(
        reverse("teams:members")).content.decode()


def test_enabling_needs_a_secret_and_a_domain_and_require_needs_enabled(admin_client, partner):
    response = admin_client.post(reverse("sso:settings"), {
        "enabled": "on", "issuer": "https://idp.example", "client_id": "c",
        "require_sso": "on", "default_role": "viewer"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Enter the client secret." in page and "Enter at least one domain." in page
    response = admin_client.post(reverse("sso:settings"), {
        "issuer": "https://idp.example", "client_id": "c", "require_sso": "on",
        "default_role": "viewer", "allowed_domains": "not a domain!"})
    page = response.content.decode()
    assert "Allow sign-in with SSO before requiring it." in page and "Not a domain" in page
    assert not SingleSignOn.objects.exists()
