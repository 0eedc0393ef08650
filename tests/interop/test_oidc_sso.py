"""Single sign-on (issue 23) against Authlib's OpenID Connect provider
(tests/interop/oidc_server.py), live on 127.0.0.1: the settings page's discovery, the
code flow with PKCE and nonce, just-in-time membership, and every refusal -- each with its
message, its audit event, and nothing half-saved. The browser's visit to the provider is
a real HTTP request; the callback comes back to Hatchway through Django's test client."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
import requests
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from accounts.access import SSO_PARTNER_KEY
from accounts.models import Membership, Partner, User
from audit.models import AuditEvent
from teams.models import SingleSignOn, SingleSignOnDomain, SingleSignOnIdentity
from tests.factories import make_member, path_and_query
from tests.interop.oidc_server import OIDC_STORE, OIDCStore, Person, running_server
from tests.interop.serving import plain_http

TIMEOUT = 5
CALLBACK = "http://testserver/login/sso/callback"


@pytest.fixture(scope="session")
def oidc_base() -> Iterator[str]:
    with plain_http(), running_server() as base:  # both sides speak plain http here
        yield base


@pytest.fixture
def idp(oidc_base: str) -> Iterator[OIDCStore]:
    OIDC_STORE.reset()
    OIDC_STORE.base = oidc_base
    yield OIDC_STORE
    OIDC_STORE.reset()


@pytest.fixture(autouse=True)
def fresh_counts() -> None:
    """Each test starts with no SSO starts counted (the counters live in the default cache)."""
    cache.clear()


def settings_form(idp: OIDCStore, client_id: str, secret: str, **extra: str) -> dict[str, str]:
    form = {"enabled": "on", "issuer": idp.base, "client_id": client_id,
            "client_secret": secret, "allowed_domains": "acme.test", "default_role": "viewer"}
    form.update(extra)
    return {k: v for k, v in form.items() if v != ""}


@pytest.fixture
def sso(admin_client: Client, partner: Partner, idp: OIDCStore) -> SingleSignOn:
    """Acme's single sign-on, saved through its settings page (discovery included)."""
    registered = idp.register(redirect_uri=CALLBACK)
    response = admin_client.post(reverse("sso:settings"), settings_form(
        idp, registered.client_id, registered.client_secret))
    assert response.status_code == 302, response.content.decode()[:2000]
    return SingleSignOn.objects.get(partner=partner)


def sign_in(client: Client, email: str = "nina@acme.test", *, follow_idp: bool = True):
    """Sign in with SSO: the email, the provider's authorize step, then the callback."""
    start = client.post(reverse("sso:start"), {"email": email})
    assert start.status_code == 302, start.content.decode()[:2000]
    answer = requests.get(start["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(CALLBACK + "?"), callback
    return client.get(path_and_query(callback))


def refusals() -> list[str]:
    return list(AuditEvent.objects.filter(action="login.sso_refused")
                .values_list("detail__reason", flat=True))


def assert_refused(response, text: str, reason: str, *, users_before: int) -> None:
    assert response.status_code == 403
    assert text in response.content.decode()
    assert reason in refusals()
    assert User.objects.count() == users_before  # nobody made
    assert "_auth_user_id" not in response.wsgi_request.session  # nobody signed in


# --- the settings page ---------------------------------------------------------------


def test_settings_page_discovers_the_issuer_and_never_shows_the_secret(admin_client, sso, idp):
    assert sso.enabled and sso.client_secret.startswith("fake-oidc-secret-")
    assert sso.provider["token_endpoint"] == f"{idp.base}/oauth/token"
    assert sso.provider["jwks_uri"] == f"{idp.base}/jwks"
    assert sso.domain_list == ["acme.test"]
    page = admin_client.get(reverse("sso:settings")).content.decode()
    assert CALLBACK in page  # the redirect URI to register, prefilled
    assert sso.client_secret not in page
    event = AuditEvent.objects.get(action="partner.sso_settings_changed")
    assert "client_secret" in event.detail["fields"]
    assert sso.client_secret not in str(event.detail)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM teams_singlesignon WHERE id = %s", [sso.pk])
        raw = bytes(cursor.fetchone()[0])
    assert sso.client_secret.encode() not in raw  # encrypted at rest


def test_saving_without_a_secret_keeps_the_saved_one(admin_client, sso, idp):
    form = settings_form(idp, sso.client_id, "", require_sso="on")
    assert admin_client.post(reverse("sso:settings"), form).status_code == 302
    sso.refresh_from_db()
    assert sso.require_sso and sso.client_secret.startswith("fake-oidc-secret-")


def test_an_issuer_whose_discovery_names_another_is_refused_and_nothing_saved(
        admin_client, partner, idp):
    idp.tamper["discovery_issuer"] = "https://evil.example"
    response = admin_client.post(reverse("sso:settings"), settings_form(
        idp, "some-client", "fake-secret"))
    assert response.status_code == 400
    assert "names another issuer" in response.content.decode()
    assert not SingleSignOn.objects.exists() and not AuditEvent.objects.filter(
        action="partner.sso_settings_changed").exists()


def test_another_partners_domain_cannot_be_claimed(admin_client, sso, other_partner, idp):
    other = SingleSignOn.objects.create(partner=other_partner, enabled=True, issuer=idp.base,
                                        client_id="x", provider=sso.provider)
    SingleSignOnDomain.objects.create(sso=other, domain="globex.test")
    response = admin_client.post(reverse("sso:settings"), settings_form(
        idp, sso.client_id, "", allowed_domains="acme.test\nglobex.test"))
    assert response.status_code == 400
    assert "already signs in to another partner" in response.content.decode()
    assert sso.domain_list == ["acme.test"]


def test_viewers_cannot_see_or_change_the_settings(viewer_client, sso, idp):
    assert viewer_client.get(reverse("sso:settings")).status_code == 403
    assert viewer_client.post(reverse("sso:settings"), settings_form(
        idp, "x", "y")).status_code == 403


# --- signing in ------------------------------------------------------------------------


def test_first_sign_in_makes_a_viewer_just_in_time(client, sso, partner, idp):
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == reverse("connectors:library")
    user = User.objects.get(email="nina@acme.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, partner=partner).role == Membership.Role.VIEWER
    assert client.session[SSO_PARTNER_KEY] == partner.pk
    assert SingleSignOnIdentity.objects.get(sso=sso).user == user
    assert client.get(reverse("connectors:library")).status_code == 200
    actions = set(AuditEvent.objects.filter(partner=partner).values_list("action", flat=True))
    assert {"member.joined_by_sso", "login.sso"} <= actions


def test_an_existing_member_signs_in_with_their_role(client, sso, alice, idp):
    idp.user = Person("sub-alice", "alice@acme.test")
    assert sign_in(client).status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert alice.memberships.get().role == Membership.Role.ADMIN
    assert not AuditEvent.objects.filter(action="member.joined_by_sso").exists()


def test_an_sso_session_works_in_that_partner_only(client, sso, partner, other_partner, idp):
    nina = make_member(other_partner, "nina@acme.test", Membership.Role.ADMIN)
    assert sign_in(client).status_code == 302
    other = nina.memberships.get(partner=other_partner)
    client.post(reverse("teams:switch_partner"), {"membership": other.pk})
    nina.refresh_from_db()
    assert nina.current_membership.partner == partner


@pytest.mark.parametrize(("tamper", "text", "reason"), [
    ({"claims": {"aud": ["someone-else"]}}, "issued for another application",
     "wrong_audience"),
    ({"foreign_key": True}, "signature is not valid", "bad_signature"),
    ({"claims": {"iss": "https://evil.example"}}, "issued by another identity provider",
     "wrong_issuer"),
    ({"claims": {"exp": 1_000_000, "iat": 999_000}}, "has expired", "expired_token"),
])
def test_a_bad_id_token_is_refused(client, sso, idp, tamper, text, reason):
    idp.tamper.update(tamper)
    assert_refused(sign_in(client), text, reason, users_before=User.objects.count())


def test_a_replayed_id_token_is_refused_by_its_nonce(client, sso, idp):
    assert sign_in(client).status_code == 302  # the first ID token, used once
    client.logout()
    idp.tamper["replay"] = True  # the provider (or someone between) sends it again
    before = User.objects.count()
    assert_refused(sign_in(client), "nonce does not match", "nonce_mismatch",
                   users_before=before)


def test_a_callback_brought_back_a_second_time_is_refused(client, sso, idp):
    start = client.post(reverse("sso:start"), {"email": "nina@acme.test"})
    callback = requests.get(start["Location"], allow_redirects=False,
                            timeout=TIMEOUT).headers["Location"]
    assert client.get(path_and_query(callback)).status_code == 302
    client.logout()
    again = client.get(path_and_query(callback))
    assert again.status_code == 400 and "No sign-in with SSO is in progress" in \
        again.content.decode()


def test_a_state_of_another_sign_in_is_refused(client, sso, idp):
    start = client.post(reverse("sso:start"), {"email": "nina@acme.test"})
    callback = requests.get(start["Location"], allow_redirects=False,
                            timeout=TIMEOUT).headers["Location"]
    forged = path_and_query(callback).replace("state=", "state=x")
    assert_refused(client.get(forged), "does not belong to your sign-in", "state_mismatch",
                   users_before=User.objects.count())


def test_an_unverified_email_is_refused(client, sso, idp):
    idp.user = Person("sub-nina", "nina@acme.test", email_verified=False)
    assert_refused(sign_in(client), "has not verified this email", "email_not_verified",
                   users_before=User.objects.count())


def test_a_domain_not_allowed_is_refused(client, sso, idp):
    idp.user = Person("sub-eve", "eve@elsewhere.test")
    assert_refused(sign_in(client), "not in a domain Acme Cloud allows",
                   "domain_not_allowed", users_before=User.objects.count())


def test_another_partners_domain_cannot_sign_in_here(client, sso, mallory, other_partner,
                                                     idp):
    """Acme's provider vouching for a Globex address: refused, Mallory untouched."""
    other = SingleSignOn.objects.create(partner=other_partner, enabled=True, issuer=idp.base,
                                        client_id="x", provider=sso.provider)
    SingleSignOnDomain.objects.create(sso=other, domain="globex.test")
    idp.user = Person("sub-mallory", "mallory@globex.test")
    assert_refused(sign_in(client), "not in a domain Acme Cloud allows", "domain_not_allowed",
                   users_before=User.objects.count())
    assert list(mallory.memberships.values_list("partner_id", flat=True)) == [other_partner.pk]


def test_an_unknown_domain_is_told_to_use_a_password(client, sso):
    response = client.post(reverse("sso:start"), {"email": "someone@nowhere.test"})
    assert response.status_code == 400
    assert "not set up for this email" in response.content.decode()


def test_sso_turned_off_mid_sign_in_is_refused(client, sso, idp):
    start = client.post(reverse("sso:start"), {"email": "nina@acme.test"})
    callback = requests.get(start["Location"], allow_redirects=False,
                            timeout=TIMEOUT).headers["Location"]
    SingleSignOn.objects.filter(pk=sso.pk).update(enabled=False)
    assert_refused(client.get(path_and_query(callback)), "turned off", "disabled",
                   users_before=User.objects.count())


def test_staff_cannot_be_signed_in_by_a_partners_provider(client, sso, idp):
    User.objects.create_superuser("root@acme.test", "fake-password-xyz")
    idp.user = Person("sub-root", "root@acme.test")
    assert_refused(sign_in(client), "Staff accounts cannot", "staff_account",
                   users_before=User.objects.count())


def test_a_user_with_a_second_factor_still_gives_it(client, sso, alice, idp):
    from teams.models import AuthenticatorApp

    AuthenticatorApp.objects.create(user=alice, name="app", confirmed=True)
    idp.user = Person("sub-alice", "alice@acme.test")
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == reverse("login_code")
    assert "_auth_user_id" not in client.session


# --- Require SSO and the recovery link ------------------------------------------------------


def test_require_sso_blocks_passwords(client, sso, alice):
    alice.set_password("fake-password-123")
    alice.save()
    SingleSignOn.objects.filter(pk=sso.pk).update(require_sso=True)
    response = client.post(reverse("login"), {"username": "alice@acme.test",
                                              "password": "fake-password-123"})
    assert response.status_code == 200
    assert "Acme Cloud requires single sign-on" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login.password_refused_sso").exists()
    assert "Sign in with SSO" in response.content.decode()


def test_the_recovery_link_signs_an_admin_in_once(client, sso, alice):
    SingleSignOn.objects.filter(pk=sso.pk).update(require_sso=True)
    out = StringIO()
    call_command("sso_recovery_link", "alice@acme.test", stdout=out, stderr=StringIO())
    path = out.getvalue().strip().removeprefix("http://testserver")
    assert client.get(path).status_code == 200  # a button: a previewer does not spend it
    assert client.post(path).status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    client.logout()
    assert client.post(path).status_code == 410
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "login.recovery_link_issued" in actions and "login.recovery_link_used" in actions
    token = path.rstrip("/").rsplit("/", 1)[-1]
    assert not AuditEvent.objects.filter(detail__icontains=token).exists()


def test_sso_can_be_turned_off_while_the_provider_is_down(admin_client, sso, idp):
    idp.tamper["discovery_issuer"] = "https://evil.example"  # discovery now fails
    form = settings_form(idp, sso.client_id, "", enabled="")
    assert admin_client.post(reverse("sso:settings"), form).status_code == 302
    sso.refresh_from_db()
    assert not sso.enabled
    response = Client().post(reverse("sso:start"), {"email": "nina@acme.test"})
    assert response.status_code == 400  # the login page no longer sends anyone there


def test_nothing_secret_is_logged(client, sso, idp, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    assert sign_in(client).status_code == 302
    issued = idp.id_tokens[0]
    # The provider runs in this process: its own logs (Authlib's server side, werkzeug)
    # are the provider's, not Hatchway's.
    provider = ("authlib.oauth2.rfc", "authlib.oidc", "authlib.integrations.flask", "werkzeug")
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith(provider)]
    assert any(r.name.startswith("hatchway") or r.name.startswith("axes") for r in caplog.records)
    text = "\n".join(ours) + str(list(AuditEvent.objects.values_list("detail", flat=True)))
    assert sso.client_secret not in text
    assert issued not in text and issued.split(".")[1] not in text
    assert idp.tokens[0].access_token not in text


def test_an_sso_session_stays_in_its_partner_when_another_session_switches(
        client, sso, partner, other_partner, idp):
    nina = make_member(other_partner, "nina@acme.test", Membership.Role.ADMIN)
    assert sign_in(client).status_code == 302
    other = nina.memberships.get(partner=other_partner)
    User.objects.filter(pk=nina.pk).update(current_membership=other)  # a password session
    page = client.get(reverse("teams:members"))
    assert page.status_code == 200 and page.context["partner"] == partner
    Membership.objects.filter(user=nina, partner=partner).delete()
    assert client.get(reverse("teams:members")).status_code == 403


def test_a_reused_email_with_another_subject_is_refused(client, sso, idp):
    """The provider gave nina@acme.test to another account (another `sub`): it does not
    sign in as the user the first account made."""
    assert sign_in(client).status_code == 302
    nina = User.objects.get(email="nina@acme.test")
    assert nina.sso_identities.get().subject == "sub-nina"
    client.logout()
    idp.user = Person("sub-someone-else", "nina@acme.test")
    assert_refused(sign_in(client), "belongs to another account", "identity_mismatch",
                   users_before=User.objects.count())
    assert nina.sso_identities.count() == 1


# --- the throttle on starting sign-ins ---------------------------------------------------


def start(client: Client, email: str, address: str = "127.0.0.1"):
    return client.post(reverse("sso:start"), {"email": email}, REMOTE_ADDR=address)


@override_settings(SSO_START_LIMIT=2, SSO_START_WINDOW=600)
def test_starts_from_one_address_are_throttled_and_the_first_refusal_audited(client, sso):
    """Past the limit one address gets a 429 with a clear message, whatever the email;
    no sign-in is left pending, and the partner's audit log has the refusal once."""
    assert start(client, "nina@acme.test").status_code == 302
    assert start(client, "someone@nowhere.test").status_code == 400  # counted too
    client.session.flush()
    for _ in range(2):
        response = start(client, "nina@acme.test")
        assert response.status_code == 429
        assert response["Retry-After"] == "600"
        html = response.content.decode()
        assert "Too many sign-ins with SSO were started from your network." in html
        assert "Try again in 10 minutes." in html
        assert "sso_pending" not in client.session
    assert refusals() == ["throttled_address"]
    event = AuditEvent.objects.get(action="login.sso_refused")
    assert event.partner_id == sso.partner_id
    assert start(client, "nina@acme.test", address="10.0.0.7").status_code == 302  # another


@override_settings(SSO_START_LIMIT=2)
def test_an_unknown_domain_throttled_is_audited_nowhere(client, sso):
    for _ in range(2):
        assert start(client, "someone@nowhere.test").status_code == 400
    assert start(client, "someone@nowhere.test").status_code == 429
    assert refusals() == []


@override_settings(SSO_START_DOMAIN_LIMIT=2)
def test_starts_for_one_email_domain_are_throttled_from_any_address(client, sso):
    """Past the domain's limit every address gets a 429 for that domain, and others'
    domains are untouched."""
    assert start(client, "nina@acme.test", address="10.0.0.1").status_code == 302
    assert start(client, "omar@ACME.test", address="10.0.0.2").status_code == 302
    response = start(client, "paula@acme.test", address="10.0.0.3")
    assert response.status_code == 429
    assert "Too many sign-ins with SSO were started for this email domain." in \
        response.content.decode()
    assert refusals() == ["throttled_domain"]
    response = start(client, "someone@nowhere.test", address="10.0.0.3")
    assert response.status_code == 400 and "not set up for this email" in \
        response.content.decode()
