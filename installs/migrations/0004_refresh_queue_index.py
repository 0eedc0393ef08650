"""The refresh workers' queue as a partial index, in claim order (installs/refresh.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("installs", "0003_token_info"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="install",
            index=models.Index(
                condition=models.Q(("status__in", ["authenticated", "refresh_failing"])),
                fields=["expires_at", "id"], name="install_refresh_queue"),
        ),
    ]
