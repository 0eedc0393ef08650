from django.db import migrations, models


def derive(apps, schema_editor):
    """From each connector's stored catalogue data, as connectors/sync.py does at sync."""
    Connector = apps.get_model("connectors", "Connector")
    for connector in Connector.objects.only("pk", "spec_data").iterator():
        fields = connector.spec_data.get("fields", ())
        needs = any(field.get("level", "partner") == "partner" for field in fields)
        if not needs:
            Connector.objects.filter(pk=connector.pk).update(needs_partner_settings=False)


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
        migrations.RunPython(derive, migrations.RunPython.noop),
    ]
