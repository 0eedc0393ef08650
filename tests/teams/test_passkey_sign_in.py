""""Sign in with a passkey" (a discoverable credential, no password, no code after it),
against a software authenticator: an EC P-256 key of our own signing assertions as
WebAuthn §6.3.3 says (authenticator data, then the client data's hash), checked by fido2.
The same in Chromium: tests/browser/test_passkeys.py."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client, override_settings
from django.urls import reverse
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import Aaguid, AttestedCredentialData

from audit.models import Action, AuditEvent
from teams import passkeys
from teams.models import Passkey
from tests.factories import PASSWORD
from tests.teams.test_single_sign_on import sso_for

ORIGIN = "http://localhost"  # PUBLIC_URL below: the relying party is "localhost"


@pytest.fixture(autouse=True)
def relying_party(settings):
    settings.PUBLIC_URL = ORIGIN


class SoftAuthenticator:
    """One discoverable credential of `user`, registered (its public key stored as fido2
    stores it), and the private key that signs its assertions."""

    def __init__(self, user, credential_id: bytes = b"fake-credential-1", sign_count: int = 0):
        self.user, self.credential_id = user, credential_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        data = AttestedCredentialData.create(Aaguid.NONE, credential_id,
                                             ES256.from_cryptography_key(self.key.public_key()))
        self.passkey = Passkey.objects.create(user=user, credential_id=credential_id,
                                              credential_data=bytes(data), sign_count=sign_count)

    def assertion(self, challenge: str, *, counter: int, origin: str = ORIGIN,
                  rp_id: str = "localhost", user_handle: bytes | None = None) -> dict:
        client_data = json.dumps({"type": "webauthn.get", "challenge": challenge,
                                  "origin": origin, "crossOrigin": False}).encode()
        flags = bytes([0x01 | 0x04])  # user present, user verified
        auth_data = hashlib.sha256(rp_id.encode()).digest() + flags + counter.to_bytes(4, "big")
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        handle = str(self.user.pk).encode() if user_handle is None else user_handle
        credential_id = websafe_encode(self.credential_id)
        return {"id": credential_id, "rawId": credential_id, "type": "public-key", "response": {
                    "clientDataJSON": websafe_encode(client_data),
                    "authenticatorData": websafe_encode(auth_data),
                    "signature": websafe_encode(signature),
                    "userHandle": websafe_encode(handle)}}


def begin(client: Client, next_url: str = "") -> str:
    """The sign-in challenge the login page's button asks for."""
    url = reverse("sign_in_passkey_begin") + (f"?next={next_url}" if next_url else "")
    options = client.post(url).json()["publicKey"]
    assert "allowCredentials" not in options  # discoverable: the authenticator chooses
    assert options["userVerification"] == "required"
    return str(options["challenge"])


def complete(client: Client, body: dict):
    return client.post(reverse("sign_in_passkey_complete"), json.dumps(body),
                       content_type="application/json")


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_passkey_signs_in_without_password_or_code(client, alice):
    """Both factors: logged in, the second factor counted as passed, no code step even
    though the passkey turns two-factor authentication on; counter and use recorded,
    audited."""
    key = SoftAuthenticator(alice)
    response = complete(client, key.assertion(begin(client), counter=7))
    assert response.status_code == 200
    assert response.json() == {"redirect": reverse("connectors:library")}
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert client.session["second_factor_verified"] is True
    key.passkey.refresh_from_db()
    assert key.passkey.sign_count == 7 and key.passkey.last_used_at is not None
    assert AuditEvent.objects.filter(action=Action.PASSKEY_LOGIN, actor=alice).count() == 1
    assert client.get(reverse("connectors:library"), HTTP_HOST="localhost").status_code == 200


def test_the_next_page_is_kept_and_a_foreign_one_dropped(alice):
    key = SoftAuthenticator(alice)
    client = Client()
    response = complete(client, key.assertion(begin(client, "/accounts/"), counter=1))
    assert response.json() == {"redirect": "/accounts/"}
    client = Client()
    response = complete(client, key.assertion(begin(client, "https://evil.example/"), counter=2))
    assert response.json() == {"redirect": reverse("connectors:library")}


def test_an_authenticator_that_does_not_count_signs_in(client, alice):
    """Zero then zero (synced passkeys do not count): accepted."""
    key = SoftAuthenticator(alice)
    assert complete(client, key.assertion(begin(client), counter=0)).status_code == 200


def refused(client: Client, response, *, status: int = 400) -> None:
    assert response.status_code == status
    assert not signed_in(client)
    assert not AuditEvent.objects.filter(action=Action.PASSKEY_LOGIN).exists()


def test_an_unknown_credential_is_refused_and_counted(client, alice):
    """Not alice's nor anyone's: 400 with the same message, a failure counted against the
    client address (no partner to audit it for)."""
    stranger = SoftAuthenticator(alice, credential_id=b"fake-credential-x")
    body = stranger.assertion(begin(client), counter=1)
    stranger.passkey.delete()
    response = complete(client, body)
    refused(client, response)
    assert response.json() == {"error": "The passkey was not accepted."}
    assert AccessAttempt.objects.get().failures_since_start == 1


def test_a_wrong_challenge_is_refused_and_counted_for_the_user(client, alice):
    key = SoftAuthenticator(alice)
    begin(client)
    refused(client, complete(client, key.assertion(websafe_encode(b"x" * 32), counter=1)))
    failure = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    assert failure.detail["email"] == alice.email
    key.passkey.refresh_from_db()
    assert key.passkey.sign_count == 0 and key.passkey.last_used_at is None


def test_a_challenge_is_single_use(client, alice):
    """The same assertion again (a replay): no challenge waits any more."""
    key = SoftAuthenticator(alice)
    body = key.assertion(begin(client), counter=1)
    assert complete(client, body).status_code == 200
    client.logout()
    response = complete(client, body)
    assert response.status_code == 400 and not signed_in(client)
    assert AuditEvent.objects.filter(action=Action.PASSKEY_LOGIN).count() == 1


def test_a_failed_attempt_spends_the_challenge(client, alice):
    key = SoftAuthenticator(alice)
    challenge = begin(client)
    refused(client, complete(client, key.assertion(challenge, counter=1, origin="https://evil.example")))
    refused(client, complete(client, key.assertion(challenge, counter=2)))


def test_an_expired_challenge_is_refused(client, alice, monkeypatch):
    key = SoftAuthenticator(alice)
    body = key.assertion(begin(client), counter=1)
    real = passkeys.time.time
    monkeypatch.setattr(passkeys.time, "time", lambda: real() + passkeys.SIGN_IN_SECONDS + 1)
    refused(client, complete(client, body))


def test_without_a_challenge_nothing_signs_in(client, alice):
    key = SoftAuthenticator(alice)
    refused(client, complete(client, key.assertion(websafe_encode(b"y" * 32), counter=1)))


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example"])
def test_a_wrong_origin_is_refused(client, alice, origin):
    key = SoftAuthenticator(alice)
    refused(client, complete(client, key.assertion(begin(client), counter=1, origin=origin)))


def test_a_wrong_relying_party_is_refused(client, alice):
    key = SoftAuthenticator(alice)
    refused(client, complete(client, key.assertion(begin(client), counter=1,
                                                   rp_id="evil.example")))


def test_a_bad_signature_is_refused(client, alice):
    key = SoftAuthenticator(alice)
    body = key.assertion(begin(client), counter=1)
    key.key = ec.generate_private_key(ec.SECP256R1())  # another key signs the next one
    body["response"]["signature"] = key.assertion(websafe_encode(b"z" * 32),
                                                  counter=1)["response"]["signature"]
    refused(client, complete(client, body))


@pytest.mark.parametrize("counter", [9, 10])
def test_a_sign_count_that_does_not_increase_is_refused(client, alice, counter):
    """Stored 10; 9 or 10 again may be a cloned authenticator: refused, the count kept."""
    key = SoftAuthenticator(alice, sign_count=10)
    refused(client, complete(client, key.assertion(begin(client), counter=counter)))
    key.passkey.refresh_from_db()
    assert key.passkey.sign_count == 10 and key.passkey.last_used_at is None


def test_another_users_handle_is_refused(client, alice, victor):
    key = SoftAuthenticator(alice)
    refused(client, complete(client, key.assertion(begin(client), counter=1,
                                                   user_handle=str(victor.pk).encode())))


def test_require_sso_blocks_the_passkey_too(client, alice, partner):
    """The partner turned passwords off for SSO: a passkey does not get around it."""
    sso_for(partner, "acme.test", require=True)
    key = SoftAuthenticator(alice)
    response = complete(client, key.assertion(begin(client), counter=1))
    refused(client, response, status=403)
    assert response.json() == {"error": f"{partner.name} requires single sign-on: use Sign in "
                                        "with SSO."}
    assert AuditEvent.objects.filter(action=Action.PASSKEY_SSO_REFUSED, actor=alice).exists()


def test_an_inactive_user_is_refused(client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    key = SoftAuthenticator(alice)
    response = complete(client, key.assertion(begin(client), counter=1))
    refused(client, response)
    assert response.json() == {"error": "The passkey was not accepted."}


@override_settings(AXES_FAILURE_LIMIT=2)
def test_a_locked_out_login_is_not_opened_by_a_passkey(client, alice):
    """Two failures lock alice out; then even her right passkey gets the 429."""
    key = SoftAuthenticator(alice)
    for counter in (1, 2):
        begin(client)
        complete(client, key.assertion(websafe_encode(b"w" * 32), counter=counter))
    response = complete(client, key.assertion(begin(client), counter=3))
    refused(client, response, status=429)
    assert "Try again in" in response.json()["error"] and response["Retry-After"]


def test_nothing_secret_is_logged_or_audited(client, alice, caplog):
    """The challenge, signature and credential id appear in no log line or audit event."""
    key = SoftAuthenticator(alice)
    caplog.set_level(logging.DEBUG)
    begin(client)
    complete(client, key.assertion(websafe_encode(b"v" * 32), counter=1))
    challenge = begin(client)
    body = key.assertion(challenge, counter=2)
    assert complete(client, body).status_code == 200
    events = json.dumps([[e.action, e.detail] for e in AuditEvent.objects.all()])
    for secret in (challenge, body["response"]["signature"], body["id"]):
        assert secret not in caplog.text and secret not in events


def test_the_login_page_offers_it_only_to_browsers_that_can(client, settings, db):
    """The offer is hidden until js/passkeys.js finds WebAuthn; the password form works
    without it."""
    settings.PUBLIC_URL = "http://testserver"  # the console's host (no redirect to it)
    html = client.get(reverse("login")).content.decode()
    assert "data-passkey-offer hidden" in html and "Sign in with a passkey" in html
    assert 'name="password"' in html and "js/passkeys.js" in html


def test_new_passkeys_are_asked_to_be_discoverable(admin_client):
    options = admin_client.post(reverse("teams:passkey_register_begin")).json()["publicKey"]
    assert options["authenticatorSelection"]["residentKey"] == "preferred"


@pytest.mark.parametrize(("counter", "status"), [(11, 200), (10, 400)])
def test_the_second_factor_checks_the_sign_count_too(client, alice, counter, status):
    """After the password, "Use a passkey": the counter must go up there as well."""
    key = SoftAuthenticator(alice, sign_count=10)
    response = client.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    assert response.url == reverse("login_code")
    challenge = client.post(reverse("login_passkey_begin")).json()["publicKey"]["challenge"]
    response = client.post(reverse("login_passkey_complete"),
                           json.dumps(key.assertion(challenge, counter=counter)),
                           content_type="application/json")
    assert response.status_code == status and signed_in(client) is (status == 200)
    key.passkey.refresh_from_db()
    assert key.passkey.sign_count == (11 if status == 200 else 10)


@override_settings(PASSKEY_SIGN_IN_LIMIT=2)
def test_starts_are_throttled_per_client_address(alice, caplog):
    """Each start writes a session: past the limit from one address, a 429 and no session."""
    crowd = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(2):
        assert crowd.post(reverse("sign_in_passkey_begin")).status_code == 200
    refused = Client(REMOTE_ADDR="203.0.113.7")
    with caplog.at_level(logging.WARNING, logger="hatchway.security"):
        response = refused.post(reverse("sign_in_passkey_begin"))
    assert response.status_code == 429 and response["Retry-After"] == "600"
    assert "Too many passkey sign-ins" in response.json()["error"]
    assert "publicKey" not in response.json() and "sessionid" not in response.cookies
    assert "passkey sign-in throttled" in caplog.text
    other = Client(REMOTE_ADDR="198.51.100.9")  # another address is not held up
    assert other.post(reverse("sign_in_passkey_begin")).status_code == 200
