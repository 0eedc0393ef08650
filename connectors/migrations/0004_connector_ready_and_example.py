from django.db import migrations, models

from connectors import sync


def derive(apps, schema_editor):
    """From each connector's stored catalogue data, as connectors/sync.py does at sync."""
    Connector = apps.get_model("connectors", "Connector")
    for connector in Connector.objects.only("pk", "spec_data").iterator():
        Connector.objects.filter(pk=connector.pk).update(
            needs_partner_settings=sync.needs_partner_settings(connector.spec_data),
            is_example=sync.is_example(connector.spec_data))


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0003_catalogue"),
    ]

    operations = [
        migrations.AddField(
            model_name="connector",
            name="needs_partner_settings",
            field=models.BooleanField(default=True, editable=False, help_text="It has partner-level fields: Authentication Settings to save once."),
        ),
        migrations.AddField(
            model_name="connector",
            name="is_example",
            field=models.BooleanField(default=False, editable=False, help_text="Its endpoints are placeholders on the reserved .example domain."),
        ),
        migrations.RunPython(derive, migrations.RunPython.noop),
    ]
