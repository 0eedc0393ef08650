"""A connector's spec is built once per process for the same stored data (Connector.spec):
reused by every fresh load of the row while its data is equal, rebuilt when it changes --
however it was changed."""

from __future__ import annotations

import pytest

from connectors import models
from connectors.models import Connector
from tests.factories import catalogue_connector


@pytest.fixture(autouse=True)
def no_specs_built_yet(monkeypatch):
    monkeypatch.setattr(models, "_built_specs", {})


def fresh(connector: Connector) -> Connector:
    return Connector.objects.get(pk=connector.pk)


def test_fresh_loads_of_the_same_row_share_one_spec(db):
    connector = catalogue_connector("sandbox-oauth2")
    assert fresh(connector).spec is fresh(connector).spec
    assert fresh(connector).spec.name == "Sandbox (OAuth 2.0)"


def test_changed_data_gets_a_new_spec_even_when_written_without_save(db):
    """The reuse is by content, not by a timestamp a bulk update would leave alone."""
    connector = catalogue_connector("sandbox-oauth2")
    before = fresh(connector).spec
    Connector.objects.filter(pk=connector.pk).update(
        spec_data={**connector.spec_data, "name": "Sandbox renamed"})
    after = fresh(connector).spec
    assert after is not before
    assert after.name == "Sandbox renamed"
    assert before.name == "Sandbox (OAuth 2.0)"


def test_changing_a_loaded_instance_s_data_in_place_does_not_change_what_is_reused(db):
    """The spec is kept with a copy of the data it was built from."""
    connector = catalogue_connector("sandbox-oauth2")
    loaded = fresh(connector)
    spec = loaded.spec
    loaded.spec_data["auth"]["scopes"].append("changed-in-memory-only")
    assert fresh(connector).spec is spec
    assert "changed-in-memory-only" not in fresh(connector).spec.auth.scopes


def test_an_unsaved_connector_s_spec_is_not_kept(db):
    connector = catalogue_connector("sandbox-oauth2")
    unsaved = Connector(slug=connector.slug, spec_data=connector.spec_data)
    assert unsaved.spec.name == "Sandbox (OAuth 2.0)"
    assert models._built_specs == {}


def test_the_kept_specs_are_bounded(db, monkeypatch):
    monkeypatch.setattr(models, "BUILT_SPECS_MAX", 2)
    for slug in ("sandbox-oauth2", "sandbox-api-key", "sandbox-basic"):
        assert fresh(catalogue_connector(slug)).spec.slug == slug
    assert len(models._built_specs) <= 2
