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
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('actor_label', models.CharField(blank=True, help_text='Who acted when not a user: system, install link.', max_length=200)),
                        ('action', models.CharField(db_index=True, max_length=60)),
                        ('detail', models.JSONField(blank=True, default=dict, help_text='Field names, statuses, error kinds: never values.')),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_events', to='accounts.account')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('connector', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='connectors.connector')),
                    ],
                    options={
                        'db_table': 'accounts_auditevent',
                        'ordering': ['-created_at', '-id'],
                    },
                ),

            ],
            database_operations=[
                relabel_content_types("accounts", "audit", ['AuditEvent']),
            ],
        ),
    ]
