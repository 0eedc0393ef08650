"""`manage.py rotate_keys`: re-encryption under the first key, unreadable values, no lost update."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import models
from fernet_fields import hkdf

from accounts.models import Account
from audit.models import AuditEvent
from connectors.models import PartnerAuthSettings
from core.fields import Unreadable
from installs import rotation
from installs.models import AuthAttempt, Install
from tests.installs.conftest import foreign_ciphertext, make_install, sandbox_oauth2_connector

pytestmark = pytest.mark.django_db

OLD_KEY = "fake-old-fernet-key-1"
NEW_KEY = "fake-new-fernet-key-2"


def raw(model: type[models.Model], pk: int, column: str) -> bytes:
    """The stored ciphertext, read without decryption."""
    field = model._meta.get_field(column)
    value = (model.objects.filter(pk=pk).annotate(c=rotation._raw(field))
             .values_list("c", flat=True).get())
    return bytes(value)


def under(key: str, ciphertext: bytes) -> bool:
    try:
        Fernet(hkdf.derive_fernet_key(key)).decrypt(ciphertext)
    except InvalidToken:
        return False
    return True


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("rotate_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def old_key_rows(settings, partner):
    """Installs, partner settings and an auth attempt, all written under the old key only."""
    settings.FERNET_KEYS = [OLD_KEY]
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    connector = sandbox_oauth2_connector()
    installs = [make_install(account, connector, n=n, secret_values={"api_key": f"fake-k{n}"})
                for n in range(5)]
    auth_settings = PartnerAuthSettings.objects.create(
        partner=partner, connector=connector, values={"client_id": "fake-client"},
        secret_values={"client_secret": "fake-client-secret-123"})
    attempt = AuthAttempt.objects.create(install=installs[0], session_hash="0" * 64,
                                         secrets={"code_verifier": "fake-verifier"},
                                         expires_at=installs[0].expires_at)
    return installs, auth_settings, attempt


def test_new_key_rotate_then_remove_old_key(settings, old_key_rows, partner):
    """New key first → rotate_keys → old key removed: every value still decrypts."""
    installs, auth_settings, attempt = old_key_rows
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]
    out, _ = run("--check")
    assert "installs.Install.credentials: 5 under an old key" in out
    out, err = run("--batch-size", "2")
    assert "installs.Install.credentials: 5 rotated" in out
    assert "installs.Install.secret_values: 5 rotated" in out
    assert "connectors.PartnerAuthSettings.secret_values: 1 rotated" in out
    assert "installs.AuthAttempt.secrets: 1 rotated" in out
    assert err == ""
    assert under(NEW_KEY, raw(Install, installs[3].pk, "credentials"))
    assert not under(OLD_KEY, raw(Install, installs[3].pk, "credentials"))
    assert "0 values under an old key." in run("--check")[0]
    assert "Rotated 0 values." in run()[0]  # a second run has nothing left to do

    settings.FERNET_KEYS = [NEW_KEY]
    for n, install in enumerate(installs):
        install.refresh_from_db()
        assert install.credentials["refresh_token"] == f"fake-refresh-{n}"
        assert install.secret_values == {"api_key": f"fake-k{n}"}
    auth_settings.refresh_from_db()
    attempt.refresh_from_db()
    assert auth_settings.value("client_secret") == "fake-client-secret-123"
    assert attempt.secrets == {"code_verifier": "fake-verifier"}
    event = AuditEvent.objects.get(action="keys.rotated")
    # 5 installs × 2 columns + 1 settings row + 1 attempt, all this partner's
    assert (event.partner, event.detail) == (partner, {"values": 12})


def test_rotation_does_not_bump_updated_at(settings, old_key_rows):
    """Rotation is invisible to the rows' own timestamps and statuses."""
    installs, _, _ = old_key_rows
    before = Install.objects.get(pk=installs[0].pk)
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]
    run()
    after = Install.objects.get(pk=installs[0].pk)
    assert (after.updated_at, after.status) == (before.updated_at, before.status)


def test_unreadable_value_is_reported_and_install_needs_reauth(settings, old_key_rows):
    """A value no key decrypts: reported by location, install → reauth, ciphertext unchanged."""
    installs, _, _ = old_key_rows
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]
    foreign = foreign_ciphertext({"refresh_token": "fake-lost-refresh"})
    victim = installs[2]
    Install.objects.filter(pk=victim.pk).update(credentials=Unreadable(foreign))
    out, err = run()
    assert f"Unreadable (no configured key decrypts it): installs.Install pk={victim.pk} " \
           "field=credentials — install marked Reauthentication required" in err
    assert "fake-lost-refresh" not in out + err and foreign.decode() not in out + err
    assert "installs.Install.credentials: 4 rotated" in out
    assert raw(Install, victim.pk, "credentials") == foreign  # never silently emptied
    victim.refresh_from_db()
    assert victim.status == Install.Status.REAUTH_REQUIRED
    assert victim.last_error == "Stored credentials could not be decrypted — re-enter credentials"
    event = AuditEvent.objects.get(action="install.credentials_unreadable")
    assert event.install == victim and event.detail == {"field": "credentials",
                                                        "status": "reauth_required",
                                                        "previous_status": "authenticated"}
    # A second run reports it again but does not repeat the audit event.
    _, err = run()
    assert f"pk={victim.pk}" in err
    assert AuditEvent.objects.filter(action="install.credentials_unreadable").count() == 1
    assert f"installs.Install pk={victim.pk}" in run("--check")[1]


def test_write_between_read_and_update_is_not_lost(settings, old_key_rows, monkeypatch):
    """A refresh committing between rotation's read and write: the row is rotated again."""
    installs, _, _ = old_key_rows
    target = installs[1]
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]
    real_rotate = rotation.rotate_ciphertext
    stale = raw(Install, target.pk, "credentials")
    raced = []

    def rotate_while_a_refresh_commits(ciphertext: bytes) -> bytes:
        if ciphertext == stale and not raced:
            raced.append(True)
            # A worker still on the old key list saves freshly refreshed tokens.
            with _old_keys(settings):
                row = Install.objects.get(pk=target.pk)
                row.credentials = {"access_token": "fake-raced-access",
                                   "refresh_token": "fake-raced-refresh"}
                row.save(update_fields=["credentials"])
        return real_rotate(ciphertext)

    monkeypatch.setattr(rotation, "rotate_ciphertext", rotate_while_a_refresh_commits)
    out, _ = run()
    assert raced
    assert "installs.Install.credentials: 5 rotated (1 changed meanwhile, rotated again)" in out
    settings.FERNET_KEYS = [NEW_KEY]
    target.refresh_from_db()
    assert target.credentials == {"access_token": "fake-raced-access",
                                  "refresh_token": "fake-raced-refresh"}


class _old_keys:
    """Temporarily encrypt with the old key only (a process not yet restarted)."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def __enter__(self) -> None:
        self.saved = self.settings.FERNET_KEYS
        self.settings.FERNET_KEYS = [OLD_KEY]

    def __exit__(self, *exc: object) -> None:
        self.settings.FERNET_KEYS = self.saved


def test_encrypted_fields_include_every_model():
    """Discovery finds the accounts, connectors and sandbox encrypted columns."""
    found = {rotation.label(model, field) for model, field in rotation.encrypted_fields()}
    assert {"installs.Install.credentials", "installs.Install.secret_values",
            "installs.AuthAttempt.secrets", "connectors.PartnerAuthSettings.secret_values",
            "sandbox.SandboxClient.secrets"} <= found


def test_progress_per_batch_and_a_summary(settings, old_key_rows):
    """Each batch prints the rows read of the table and the values rotated so far."""
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]
    out, _ = run("--check", "--batch-size", "2")
    assert "installs.Install.credentials: 5/5 (100%), 5 under an old key" in out
    lines = run("--batch-size", "2")[0].splitlines()
    assert [line for line in lines if line.startswith("installs.Install.credentials: ")] == [
        "installs.Install.credentials: 2/5 (40%), 2 rotated",
        "installs.Install.credentials: 4/5 (80%), 4 rotated",
        "installs.Install.credentials: 5/5 (100%), 5 rotated",
        "installs.Install.credentials: 5 rotated",
    ]
    assert lines[-1].startswith("Rotated 12 values. ") and "values read in" in lines[-1]
