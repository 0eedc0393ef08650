"""Two-factor authentication: set-up with a QR code and recovery codes, the login's
"Authentication code" step, replays and wrong codes, recovery codes used once, and the
partner's "Require two-factor authentication" on every console page."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken

from accounts.models import Membership
from audit.models import Action, AuditEvent
from teams import two_factor
from teams.models import AuthenticatorApp
from tests.factories import PASSWORD, client_for

LOGIN = reverse("login")
CODE_STEP = reverse("login_code")
LIBRARY = reverse("connectors:library")
SECURITY = reverse("teams:security")


def code_for(device: AuthenticatorApp, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


@pytest.fixture
def alice_2fa(alice) -> tuple[AuthenticatorApp, list[str]]:
    """Alice with an authenticator app and recovery codes (set up through the model)."""
    device = two_factor.pending_device(alice)
    codes = two_factor.confirm(user=alice, code=code_for(device))
    return AuthenticatorApp.objects.get(user=alice, confirmed=True), codes


def password_step(client: Client, email: str = "alice@acme.test"):
    return client.post(LOGIN, {"username": email, "password": PASSWORD})


def test_set_up_shows_qr_and_secret_then_ten_recovery_codes_once(admin_client, alice, partner):
    """QR code (inline SVG) and the base32 secret; a right code turns it on and shows 10
    recovery codes; the Security page then shows neither secret nor codes."""
    html = admin_client.get(SECURITY).content.decode()
    assert "<svg" in html
    device = AuthenticatorApp.objects.get(user=alice, confirmed=False)
    secret = two_factor.secret_text(device)
    assert secret in html
    response = admin_client.post(reverse("teams:confirm_totp"), {"code": code_for(device)})
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>",
                       response.content.decode())
    assert len(set(codes)) == 10 and two_factor.is_on(alice)
    again = admin_client.get(SECURITY).content.decode()
    assert secret not in again and codes[0] not in again and "is <strong>on</strong>" in again
    event = AuditEvent.objects.get(action=Action.TWO_FACTOR_ENABLED)
    assert event.actor == alice and event.detail == {}


def test_a_wrong_set_up_code_leaves_it_off(admin_client, alice):
    """The device stays unconfirmed; no recovery codes."""
    admin_client.get(SECURITY)
    response = admin_client.post(reverse("teams:confirm_totp"), {"code": "000000"}, follow=True)
    assert "That code is not right" in response.content.decode()
    assert not two_factor.is_on(alice) and not StaticToken.objects.exists()


def test_login_asks_for_the_code_after_the_password(client, alice_2fa):
    """The password alone logs nobody in; the right code does."""
    device, _ = alice_2fa
    response = password_step(client)
    assert response.status_code == 302 and response.url == CODE_STEP
    assert "_auth_user_id" not in client.session
    assert client.get(LIBRARY).status_code == 302
    assert "Authentication code" in client.get(CODE_STEP).content.decode()
    response = client.post(CODE_STEP, {"code": code_for(device, 1)})
    assert response.status_code == 302 and response.url == LIBRARY
    assert client.get(LIBRARY).status_code == 200


def test_a_wrong_code_is_refused(client, alice_2fa):
    """A wrong code: the form again with an error, nobody logged in."""
    password_step(client)
    response = client.post(CODE_STEP, {"code": "123456"})
    assert response.status_code == 400 and "not right" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_code_cannot_be_used_twice_within_its_window(alice_2fa):
    """The code that logged one browser in is refused in another."""
    device, _ = alice_2fa
    code = code_for(device, 1)
    first = Client()
    password_step(first)
    assert first.post(CODE_STEP, {"code": code}).status_code == 302
    second = Client()
    password_step(second)
    response = second.post(CODE_STEP, {"code": code})
    assert response.status_code == 400 and "_auth_user_id" not in second.session


def test_a_recovery_code_works_once(alice_2fa):
    """A recovery code logs in once; the second time it is refused."""
    _, codes = alice_2fa
    first = Client()
    password_step(first)
    assert first.post(CODE_STEP, {"code": codes[0]}).status_code == 302
    second = Client()
    password_step(second)
    assert second.post(CODE_STEP, {"code": codes[0]}).status_code == 400
    assert StaticToken.objects.count() == 9


def test_a_recovery_code_typed_without_its_dash_or_in_capitals_works(alice_2fa):
    """Kept as 16 hex digits of a hash (django-otp's column is 16 characters, which
    PostgreSQL enforces): the dash and the case are how it is shown, not part of it."""
    _, codes = alice_2fa
    assert all(len(t) == 16 for t in StaticToken.objects.values_list("token", flat=True))
    client = Client()
    password_step(client)
    typed = codes[1].replace("-", "").upper()
    assert client.post(CODE_STEP, {"code": typed}).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_wrong_codes_count_toward_the_lockout(client, alice_2fa):
    """Past the limit: 429, and then even the right code is refused; audited."""
    device, _ = alice_2fa
    password_step(client)
    statuses = [client.post(CODE_STEP, {"code": f"00000{n}"}).status_code for n in range(3)]
    assert statuses[-1] == 429
    response = client.post(CODE_STEP, {"code": code_for(device, 1)})
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 3


def test_the_second_step_is_not_reachable_without_the_password(client, alice_2fa):
    """Straight to the code step: sent back to log in."""
    device, _ = alice_2fa
    response = client.post(CODE_STEP, {"code": code_for(device, 1)})
    assert response.status_code == 302 and response.url == LOGIN


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)  # no wait after the wrong code (django-otp)
def test_turning_off_needs_a_code(admin_client, alice_2fa, alice):
    """A wrong code keeps it on; a right one turns it off, audited."""
    device, _ = alice_2fa
    admin_client.post(reverse("teams:turn_off"), {"code": "000000"})
    assert two_factor.is_on(alice)
    admin_client.post(reverse("teams:turn_off"), {"code": code_for(device, 1)})
    assert not two_factor.is_on(alice)
    assert AuditEvent.objects.filter(action=Action.TWO_FACTOR_DISABLED).exists()


CONSOLE_PAGES = ["connectors:library", "accounts:list", "accounts:needs_attention",
                 "webhooks:list", "api_keys:list", "teams:members", "links:branding"]


@pytest.mark.parametrize("page", CONSOLE_PAGES)
def test_require_two_factor_sends_members_without_it_to_security(page, partner, victor):
    """Every console page redirects a member whose session has no second factor."""
    partner.require_two_factor = True
    partner.save()
    response = client_for(victor).get(reverse(page))
    assert response.status_code == 302 and response.url == SECURITY


def test_require_two_factor_is_set_by_admins_and_satisfied_by_setting_it_up(admin_client,
                                                                           alice, partner):
    """Saved from the Members page (audited); the admin is then sent to set it up, and
    after that every page opens."""
    admin_client.post(reverse("teams:require_two_factor"), {"require_two_factor": "on"})
    partner.refresh_from_db()
    assert partner.require_two_factor
    assert AuditEvent.objects.filter(action=Action.TWO_FACTOR_REQUIREMENT_CHANGED).exists()
    assert admin_client.get(LIBRARY).url == SECURITY
    admin_client.get(SECURITY)
    device = AuthenticatorApp.objects.get(user=alice, confirmed=False)
    admin_client.post(reverse("teams:confirm_totp"), {"code": code_for(device)})
    assert admin_client.get(LIBRARY).status_code == 200


def test_a_viewer_cannot_change_the_requirement(viewer_client, partner):
    """403; unchanged."""
    assert viewer_client.post(reverse("teams:require_two_factor"),
                              {"require_two_factor": "on"}).status_code == 403
    partner.refresh_from_db()
    assert not partner.require_two_factor


def test_the_members_list_shows_who_has_two_factor(admin_client, alice_2fa, victor):
    """On for alice, Off for victor."""
    html = admin_client.get(reverse("teams:members")).content.decode()
    rows = {email: row for email, row in re.findall(r"<td>([a-z]+@acme\.test)</td>(.*?)</tr>",
                                                   html, re.S)}
    assert "<td>On</td>" in rows["alice@acme.test"] and "<td>Off</td>" in rows["victor@acme.test"]


def test_no_secret_or_recovery_code_in_logs_audit_or_admin(client, alice, json_log,
                                                          django_user_model):
    """Set up and log in with DEBUG logging: the TOTP secret and the recovery codes are in
    no log line, audit event or admin page (django-otp's device admin is not offered)."""
    browser = client_for(alice)
    browser.get(SECURITY)
    device = AuthenticatorApp.objects.get(user=alice)
    secret = two_factor.secret_text(device)
    page = browser.post(reverse("teams:confirm_totp"), {"code": code_for(device)})
    codes = re.findall(r"<code>([0-9a-f-]{17})</code>", page.content.decode())
    password_step(client)
    client.post(CODE_STEP, {"code": codes[0]})
    logged = json_log.getvalue()
    for value in (secret, device.secrets["key"], *codes):
        assert value not in logged
        assert not [e for e in AuditEvent.objects.all() if value in str(e.detail)]
    root = client_for(django_user_model.objects.create_superuser("root@hatchway.test", PASSWORD))
    assert root.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert root.get("/admin/otp_static/staticdevice/").status_code == 404
    html = root.get(reverse("admin:accounts_user_change", args=[alice.pk])).content.decode()
    assert secret not in html and device.secrets["key"] not in html and codes[1] not in html
    assert root.get("/admin/teams/authenticatorapp/").status_code == 404
    assert Membership.objects.filter(user=alice).exists()


def test_the_secret_and_the_recovery_codes_are_not_kept_in_clear(alice_2fa):
    """The app's secret is Fernet-encrypted in its column; of each recovery code only a
    hash is kept, from which the code cannot be read back."""
    from django.db import connection

    device, codes = alice_2fa
    key = device.secrets["key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM teams_authenticatorapp WHERE id = %s", [device.pk])
        stored = bytes(cursor.fetchone()[0])
    assert key.encode() not in stored and stored.startswith(b"gAAAAA")  # a Fernet token
    kept = set(StaticToken.objects.values_list("token", flat=True))
    assert len(kept) == 10
    assert not kept & {code.replace("-", "") for code in codes}


def test_the_migration_moves_apps_and_hashes_codes(alice):
    """Teams 0004 on rows made before it: the app's secret moves, encrypted, to an
    AuthenticatorApp that accepts the same codes; a recovery code kept in clear becomes
    its hash and still works."""
    import importlib

    from django.apps import apps
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    migration = importlib.import_module("teams.migrations.0004_authenticator_app_encrypted")
    TOTPDevice.objects.create(user=alice, name="Authenticator app", confirmed=True,
                              key="0f" * 20)
    static = StaticDevice.objects.create(user=alice, name="Recovery codes")
    static.token_set.create(token="0123456789abcdef")
    migration.encrypt_app_secrets(apps, None)
    migration.hash_recovery_codes(apps, None)
    assert not TOTPDevice.objects.exists()
    app = AuthenticatorApp.objects.get(user=alice)
    assert app.confirmed and app.secrets == {"key": "0f" * 20}
    assert two_factor.verify(user=alice, code=code_for(app))
    assert StaticToken.objects.get().token != "0123456789abcdef"
    assert two_factor.verify(user=alice, code="01234567-89ABCDEF")
