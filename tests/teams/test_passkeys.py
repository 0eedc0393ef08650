"""Passkey ceremonies refuse what does not verify (the happy path runs in Chromium:
tests/browser/test_passkeys.py)."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.urls import reverse
from fido2.cose import ES256
from fido2.webauthn import Aaguid, AttestedCredentialData

from audit.models import Action, AuditEvent
from teams.models import Passkey
from tests.factories import PASSWORD

BOGUS = {"id": "AAAA", "rawId": "AAAA", "type": "public-key",
         "response": {"clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA"}}


def credential_data(credential_id: bytes) -> bytes:
    """A well-formed credential as fido2 stores it (its private key thrown away)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return bytes(AttestedCredentialData.create(Aaguid.NONE, credential_id,
                                               ES256.from_cryptography_key(key)))


def pending_login(alice) -> Client:
    """Alice has a passkey, has typed her password, and is asked for the second factor."""
    Passkey.objects.create(user=alice, credential_id=b"id-1",
                           credential_data=credential_data(b"id-1"))
    client = Client()
    response = client.post(reverse("login"), {"username": alice.email, "password": PASSWORD})
    assert response.url == reverse("login_code")
    return client


def post_json(client: Client, name: str, body: dict) -> object:
    return client.post(reverse(name), json.dumps(body), content_type="application/json")


def test_the_code_page_offers_the_passkey(alice):
    """Only "Use a passkey": alice has no authenticator app."""
    html = pending_login(alice).get(reverse("login_code")).content.decode()
    assert "Use a passkey" in html and 'name="code"' not in html


def test_an_assertion_without_a_ceremony_is_refused_and_counted(alice):
    """No challenge was issued: 400, nobody logged in, a failed login audited."""
    client = pending_login(alice)
    response = post_json(client, "login_passkey_complete", BOGUS)
    assert response.status_code == 400 and "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 1


def test_a_bogus_assertion_after_the_challenge_is_refused(alice):
    """The challenge issued, then an answer that does not verify: 400, challenge used up."""
    client = pending_login(alice)
    options = post_json(client, "login_passkey_begin", {}).json()
    assert options["publicKey"]["challenge"]
    response = post_json(client, "login_passkey_complete", BOGUS)
    assert response.status_code == 400 and "_auth_user_id" not in client.session
    assert "teams_webauthn_state" not in client.session


def test_passkey_steps_need_the_password_first(client, alice):
    """Straight to the passkey step: 400, nothing issued."""
    assert post_json(client, "login_passkey_begin", {}).status_code == 400
    assert post_json(client, "login_passkey_complete", BOGUS).status_code == 400


def test_a_bogus_registration_adds_nothing(admin_client, alice):
    """Registration begun, garbage answered: 400 and no passkey."""
    post_json(admin_client, "teams:passkey_register_begin", {})
    response = post_json(admin_client, "teams:passkey_register_complete", BOGUS)
    assert response.status_code == 400 and not Passkey.objects.exists()


def test_another_users_passkey_cannot_be_removed(other_client, alice):
    """404; the passkey stays."""
    passkey = Passkey.objects.create(user=alice, credential_id=b"id-2", credential_data=b"x")
    response = other_client.post(reverse("teams:passkey_remove", args=[passkey.pk]))
    assert response.status_code == 404 and Passkey.objects.filter(pk=passkey.pk).exists()
