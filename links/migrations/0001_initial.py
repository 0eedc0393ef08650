"""State only: the model moved here from `accounts` and keeps its table (see
accounts/migrations/0003_move_installs_links_audit.py); nothing in the database changes.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.moves import relabel_content_types


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_move_installs_links_audit'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('connectors', '0001_initial'),
        ('installs', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='InstallLink',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token_hash', models.CharField(max_length=64, unique=True)),
                        ('return_url', models.URLField(blank=True, max_length=500)),
                        ('expires_at', models.DateTimeField()),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('use_count', models.PositiveIntegerField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='install_links', to='accounts.account')),
                        ('connectors', models.ManyToManyField(blank=True, related_name='+', to='connectors.connector')),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('install', models.ForeignKey(blank=True, help_text='Set when the link reconnects one install.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='install_links', to='installs.install')),
                    ],
                    options={
                        'db_table': 'accounts_installlink',
                        'ordering': ['-created_at'],
                    },
                ),

            ],
            database_operations=[
                relabel_content_types("accounts", "links", ['InstallLink']),
            ],
        ),
    ]
