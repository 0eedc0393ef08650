"""Token metadata gets its own non-secret column; it used to hide among the values a
customer entered, as ``values["_token_info"]``."""

from django.db import migrations, models

OLD_KEY = "_token_info"


def move_out_of_values(apps, schema_editor):
    Install = apps.get_model("installs", "Install")
    for install in Install.objects.filter(values__has_key=OLD_KEY).only("pk", "values").iterator():
        info = install.values.pop(OLD_KEY) or {}
        Install.objects.filter(pk=install.pk).update(values=install.values, token_info=info)


def move_back_into_values(apps, schema_editor):
    Install = apps.get_model("installs", "Install")
    for install in Install.objects.exclude(token_info={}).only("pk", "values", "token_info"):
        values = {**install.values, OLD_KEY: install.token_info}
        Install.objects.filter(pk=install.pk).update(values=values, token_info={})


class Migration(migrations.Migration):

    dependencies = [
        ('installs', '0002_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='install',
            name='token_info',
            field=models.JSONField(blank=True, default=dict, help_text='Non-secret facts from authentication (scopes).'),
        ),
        migrations.RunPython(move_out_of_values, move_back_into_values),
    ]
