"""State only: the model moved here from `accounts` and keeps its table (see
accounts/migrations/0003_move_installs_links_audit.py); nothing in the database changes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_move_installs_links_audit'),
        ('audit', '0001_initial'),
        ('installs', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='auditevent',
                    name='install',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_events', to='installs.install'),
                ),
                migrations.AddField(
                    model_name='auditevent',
                    name='partner',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='audit_events', to='accounts.partner'),
                ),

            ],
            database_operations=[],
        ),
    ]
