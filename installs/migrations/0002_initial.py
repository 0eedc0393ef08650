"""State only: the model moved here from `accounts` and keeps its table (see
accounts/migrations/0003_move_installs_links_audit.py); nothing in the database changes.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_move_installs_links_audit'),
        ('connectors', '0001_initial'),
        ('installs', '0001_initial'),
        ('links', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='authattempt',
                    name='install_link',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='auth_attempts', to='links.installlink'),
                ),
                migrations.AddField(
                    model_name='install',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='installs', to='accounts.account'),
                ),
                migrations.AddField(
                    model_name='install',
                    name='connector',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='installs', to='connectors.connector'),
                ),
                migrations.AddField(
                    model_name='install',
                    name='created_by',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AddField(
                    model_name='authattempt',
                    name='install',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auth_attempts', to='installs.install'),
                ),
                migrations.AddField(
                    model_name='pendingrevocation',
                    name='connector',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='connectors.connector'),
                ),
                migrations.AddField(
                    model_name='pendingrevocation',
                    name='install',
                    field=models.ForeignKey(blank=True, help_text='Empty once the install was deleted.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='pending_revocations', to='installs.install'),
                ),
                migrations.AddField(
                    model_name='pendingrevocation',
                    name='partner',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pending_revocations', to='accounts.partner'),
                ),

            ],
            database_operations=[],
        ),
    ]
