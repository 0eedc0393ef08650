"""Each connector gets its own callback URL (RFC 9700 §4.4, mix-up defence). Settings saved
before keep the shared one (True) until the partner switches; new settings start on the
connector's own (False)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0004_connector_ready_and_example"),
    ]

    operations = [
        migrations.AddField(
            model_name="partnerauthsettings",
            name="shared_callback",
            field=models.BooleanField(default=True),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="partnerauthsettings",
            name="shared_callback",
            field=models.BooleanField(
                default=False,
                help_text="Saved when every connector shared one callback URL: sign-ins keep "
                          "using it until the partner has registered the connector's own and "
                          "switches."),
        ),
    ]
