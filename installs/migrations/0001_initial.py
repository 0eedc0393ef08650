"""State only: the model moved here from `accounts` and keeps its table (see
accounts/migrations/0003_move_installs_links_audit.py); nothing in the database changes.
"""

import core.fields
import django.db.models.deletion
import core.tokens
from django.conf import settings
from django.db import migrations, models

from core.moves import relabel_content_types


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_move_installs_links_audit'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('connectors', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Install',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(blank=True, max_length=200)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('authenticated', 'Authenticated'), ('refresh_failing', 'Refresh failing'), ('reauth_required', 'Reauthentication required'), ('error', 'Error'), ('deauthenticated', 'Deauthenticated')], db_index=True, default='pending', max_length=20)),
                        ('values', models.JSONField(blank=True, default=dict, help_text='Non-secret account-level values (e.g. subdomain).')),
                        ('secret_values', core.fields.EncryptedJSONField(blank=True, default=dict, help_text='Secret values entered at install.')),
                        ('credentials', core.fields.EncryptedJSONField(blank=True, default=dict, help_text='Tokens or keys produced by authentication.')),
                        ('expires_at', models.DateTimeField(blank=True, db_index=True, help_text='When the access token expires.', null=True)),
                        ('last_error', models.CharField(blank=True, max_length=500)),
                        ('refresh_failures', models.PositiveIntegerField(default=0)),
                        ('next_refresh_at', models.DateTimeField(blank=True, null=True)),
                        ('authenticated_at', models.DateTimeField(blank=True, null=True)),
                        ('last_refreshed_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'accounts_install',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='PendingRevocation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('credentials', core.fields.EncryptedJSONField(blank=True, default=dict, help_text='The token to revoke (and nothing else).')),
                        ('values', core.fields.EncryptedJSONField(blank=True, default=dict, help_text='Merged values that configure the auth method.')),
                        ('attempts', models.PositiveIntegerField(default=1, help_text='Revocation requests made so far.')),
                        ('next_attempt_at', models.DateTimeField(db_index=True)),
                        ('last_error', models.CharField(blank=True, max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'accounts_pendingrevocation',
                        'ordering': ['next_attempt_at', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='AuthAttempt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('state', models.CharField(default=core.tokens.new_state, max_length=100, unique=True)),
                        ('session_hash', models.CharField(help_text='SHA-256 of the browser session key.', max_length=64)),
                        ('secrets', core.fields.EncryptedJSONField(blank=True, default=dict, help_text='PKCE verifier or request-token secret.')),
                        ('request_token', models.CharField(blank=True, help_text='OAuth 1.0a request token (public).', max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField()),
                        ('used_at', models.DateTimeField(blank=True, null=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_authattempt',
                    },
                ),

            ],
            database_operations=[
                relabel_content_types("accounts", "installs", ['Install', 'AuthAttempt', 'PendingRevocation']),
            ],
        ),
    ]
