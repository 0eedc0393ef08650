"""Migration connectors 0005 (issue 19 item 10): Authentication Settings saved before each
connector had its own callback URL keep the shared one (their partner's app registered it);
settings saved afterwards start on the connector's own."""

from __future__ import annotations

from django.utils import timezone

BEFORE = [("connectors", "0004_connector_ready_and_example")]
AFTER = [("connectors", "0005_settings_shared_callback")]


def test_existing_settings_keep_the_shared_callback_new_ones_do_not(migrator):
    """A row from before the migration reads shared_callback=True; one made after, False."""
    old = migrator.apply_initial_migration(BEFORE)
    Partner = old.apps.get_model("accounts", "Partner")
    Connector = old.apps.get_model("connectors", "Connector")
    Settings = old.apps.get_model("connectors", "PartnerAuthSettings")
    partner = Partner.objects.create(name="Acme", slug="acme")
    before, after = (Connector.objects.create(slug=slug, name=slug, auth_type="oauth2",
                                              spec_data={}, search_text=slug)
                     for slug in ("crm-one", "crm-two"))
    Settings.objects.create(partner=partner, connector=before, values={},
                            secret_values={}, saved_at=timezone.now())

    new = migrator.apply_tested_migration(AFTER)
    Settings = new.apps.get_model("connectors", "PartnerAuthSettings")
    assert Settings.objects.get(connector_id=before.pk).shared_callback is True
    made_after = Settings.objects.create(partner_id=partner.pk, connector_id=after.pk,
                                         values={}, secret_values={})
    assert made_after.shared_callback is False
