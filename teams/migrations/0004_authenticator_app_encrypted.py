"""Authenticator apps move from django-otp's TOTPDevice (secret in clear) to
AuthenticatorApp (secret Fernet-encrypted), and recovery codes are kept as hashes.

Recovery codes cannot be unhashed: going back leaves the hashes, which then match no code,
and members generate new ones (their authenticator app keeps working either way)."""

import hashlib

import core.fields
import django.db.models.deletion
import teams.models
from django.conf import settings
from django.db import migrations, models


def encrypt_app_secrets(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorApp = apps.get_model("teams", "AuthenticatorApp")
    for old in TOTPDevice.objects.all():
        AuthenticatorApp.objects.create(
            user_id=old.user_id, name=old.name, confirmed=old.confirmed,
            secrets={"key": old.key}, drift=old.drift, last_t=old.last_t,
            throttling_failure_timestamp=old.throttling_failure_timestamp,
            throttling_failure_count=old.throttling_failure_count,
            last_used_at=old.last_used_at)
    TOTPDevice.objects.all().delete()


def decrypt_app_secrets(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorApp = apps.get_model("teams", "AuthenticatorApp")
    for app in AuthenticatorApp.objects.all():
        if app.secrets.get("key"):  # one no configured Fernet key decrypts is dropped
            TOTPDevice.objects.create(user_id=app.user_id, name=app.name,
                                      confirmed=app.confirmed, key=app.secrets["key"],
                                      drift=app.drift, last_t=app.last_t)


def hash_recovery_codes(apps, schema_editor):
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.filter(device__name="Recovery codes"):
        token.token = hashlib.sha256(token.token.encode()).hexdigest()[:16]
        token.save(update_fields=["token"])


class Migration(migrations.Migration):

    dependencies = [
        ('teams', '0003_passkey_sign_count'),
        ('otp_totp', '0003_add_timestamps'),
        ('otp_static', '0003_add_timestamps'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuthenticatorApp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('secrets', core.fields.EncryptedJSONField(blank=True, default=teams.models.new_app_secret, help_text='The shared secret.')),
                ('drift', models.SmallIntegerField(default=0, help_text="Steps the app's clock is off by.")),
                ('last_t', models.BigIntegerField(default=-1, help_text='The time step last accepted.')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'authenticator app',
                'abstract': False,
            },
        ),
        migrations.RunPython(encrypt_app_secrets, decrypt_app_secrets),
        migrations.RunPython(hash_recovery_codes, migrations.RunPython.noop),
    ]
