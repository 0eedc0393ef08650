# Memberships per partner (issue 23): a user may belong to several partners.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def work_in_the_existing_membership(apps, schema_editor):
    """Every user had at most one membership: the console keeps showing them that partner."""
    User = apps.get_model("accounts", "User")
    Membership = apps.get_model("accounts", "Membership")
    for membership in Membership.objects.only("pk", "user_id").iterator():
        User.objects.filter(pk=membership.user_id).update(current_membership=membership.pk)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_partner_auth_settings_version'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='membership',
            options={'ordering': ['partner__name', 'pk']},
        ),
        migrations.AddField(
            model_name='user',
            name='current_membership',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.membership'),
        ),
        migrations.AddField(
            model_name='user',
            name='session_epoch',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='partner',
            name='require_two_factor',
            field=models.BooleanField(default=False, help_text='Members without it are sent to their Security page until they set it up.', verbose_name='Require two-factor authentication'),
        ),
        migrations.AlterField(
            model_name='membership',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.UniqueConstraint(fields=('user', 'partner'), name='one_membership_per_partner'),
        ),
        migrations.RunPython(work_in_the_existing_membership, migrations.RunPython.noop),
    ]
