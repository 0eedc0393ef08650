"""Installs, sign-in attempts, pending revocations, install links and audit events now
belong to their own apps (installs, links, audit). Only Django's picture of the models
moves: the tables keep their names (`accounts_install` …), so nothing is renamed or lost.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel("AuditEvent"),
                migrations.DeleteModel("AuthAttempt"),
                migrations.DeleteModel("PendingRevocation"),
                migrations.DeleteModel("InstallLink"),
                migrations.DeleteModel("Install"),
            ],
            database_operations=[],
        ),
    ]
