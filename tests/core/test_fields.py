"""Secrets are encrypted at rest: no plaintext in a database dump, and key handling is safe."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from connectors.models import PartnerAuthSettings
from core.fields import Unreadable, current_fernet, is_unreadable
from installs.models import Install
from tests.factories import make_connector, raw_value, write_raw_value

SECRETS = ["fake-consumer-secret-AT-REST-1", "fake-access-token-AT-REST-2",
           "fake-refresh-token-AT-REST-3"]
CONNECTOR = {
    "name": "Rest Test",
    "description": "A connector for at-rest tests.",
    "auth": {"type": "oauth1", "request_token_url": "https://rest.example/rt",
             "authorize_url": "https://rest.example/auth",
             "access_token_url": "https://rest.example/at"},
    "fields": [{"key": "consumer_key", "label": "Consumer Key"},
               {"key": "consumer_secret", "label": "Consumer Secret", "secret": True}],
}


def store_secrets(partner) -> Install:
    connector = make_connector("rest-test", CONNECTOR)
    PartnerAuthSettings.objects.create(
        partner=partner, connector=connector, values={"consumer_key": "fake-key"},
        secret_values={"consumer_secret": SECRETS[0]}, saved_at=timezone.now(),
    )
    account = Account.objects.create(partner=partner, name="Initech", external_id="ini-1")
    return Install.objects.create(
        account=account, connector=connector,
        credentials={"access_token": SECRETS[1], "refresh_token": SECRETS[2]},
    )


def dump_database() -> str:
    if connection.vendor == "sqlite":
        return "\n".join(connection.connection.iterdump())
    if not shutil.which("pg_dump"):
        pytest.fail("pg_dump is needed to check the PostgreSQL dump")
    params = connection.get_connection_params()
    args = ["pg_dump", "--no-owner", "-d", params.get("dbname") or params["database"]]
    for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if params.get(key):
            args += [flag, str(params[key])]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.mark.django_db(transaction=True)
def test_database_dump_contains_no_plaintext_secret(partner):
    """A full dump (sqlite iterdump / pg_dump) holds the rows but none of the secrets."""
    install = store_secrets(partner)
    dump = dump_database()
    assert "fake-key" in dump  # the dump really contains the rows
    for secret in SECRETS:
        assert secret not in dump
    assert Install.objects.get(pk=install.pk).credentials["access_token"] == SECRETS[1]


def test_rows_decrypt_after_a_new_key_is_put_first(partner, settings):
    """Rotation: old rows still decrypt with a new first key; new writes use the new key."""
    install = store_secrets(partner)
    settings.FERNET_KEYS = ["fake-new-first-key", *settings.FERNET_KEYS]
    assert Install.objects.get(pk=install.pk).credentials["refresh_token"] == SECRETS[2]
    install.save()
    raw = raw_value(install, "credentials")
    settings.FERNET_KEYS = ["fake-new-first-key"]
    assert current_fernet().decrypt(raw)  # readable with the new key alone


def test_value_under_unknown_key_loads_as_unreadable_and_is_kept(partner, settings):
    """No configured key decrypts it: no exception, falsy, and saving keeps the ciphertext."""
    install = store_secrets(partner)
    before = raw_value(install, "credentials")
    settings.FERNET_KEYS = ["fake-unrelated-key"]
    loaded = Install.objects.get(pk=install.pk)
    assert is_unreadable(loaded.credentials)
    assert isinstance(loaded.credentials, Unreadable) and not loaded.credentials
    assert loaded.credentials_unreadable
    loaded.name = "renamed"
    loaded.save()
    after = raw_value(install, "credentials")
    assert after == before


def test_tampered_ciphertext_is_unreadable_not_an_error(partner):
    """A flipped byte in the stored token fails authentication and loads as Unreadable."""
    install = store_secrets(partner)
    raw = bytearray(raw_value(install, "credentials"))
    raw[-5] ^= 0x01
    write_raw_value(install, "credentials", bytes(raw))
    assert is_unreadable(Install.objects.get(pk=install.pk).credentials)


def test_serialisation_never_carries_plaintext(partner):
    """dumpdata-style serialisation writes a marker, not the secret."""
    from django.core import serializers

    install = store_secrets(partner)
    text = serializers.serialize("json", [install])
    assert SECRETS[1] not in text and "[encrypted]" in text
