"""connectors/schema/: the catalogue format declared once. The models validate a dict as
well as a file, the JSON Schema generated from them (`manage.py catalogue_schema`) is
checked in fresh, and every catalogue file points editors at it."""

from __future__ import annotations

import copy
import json
import tomllib
from io import StringIO
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pydantic import ValidationError

from connectors.management.commands.catalogue_schema import SCHEMA_LINE, SCHEMA_PATH
from connectors.schema import AuthSpec, ConnectorSpec
from connectors.spec import CATALOG_DIR, CatalogError, parse, validate

BODY = {"name": "Acme", "description": "A custom connector, as an API body.",
        "auth": {"type": "oauth2", "authorize_url": "https://acme.example.com/authorize",
                 "token_url": "https://acme.example.com/token"},
        "fields": [{"key": "client_id", "label": "Client ID"}]}


def schema_check(path: Path) -> str:
    out = StringIO()
    call_command("catalogue_schema", "--check", path=path, stdout=out)
    return out.getvalue()


def test_the_models_validate_a_dict_such_as_an_api_body():
    """A JSON-decoded body validates without any file; a mistake names the dotted key."""
    spec = ConnectorSpec.model_validate(json.loads(json.dumps(BODY)))
    assert spec.auth.token_url == "https://acme.example.com/token"
    bad = copy.deepcopy(BODY)
    bad["auth"]["token_url"] = "http://acme.example.com/token"
    with pytest.raises(ValidationError):
        ConnectorSpec.model_validate(bad)
    with pytest.raises(CatalogError, match=r"^body: auth\.token_url: must be an https:// URL$"):
        parse("body", bad)


def test_the_error_names_the_file_and_the_dotted_key():
    """The issue's example: `salesforce.toml: auth.token_url: …`."""
    data = tomllib.loads((CATALOG_DIR / "salesforce.toml").read_text())
    data["auth"]["token_url"] = "http://login.salesforce.com/services/oauth2/token"
    with pytest.raises(CatalogError) as raised:
        validate("salesforce.toml", "salesforce", data)
    assert str(raised.value) == "salesforce.toml: auth.token_url: must be an https:// URL"


@pytest.mark.parametrize(("edit", "key", "message"), [
    (lambda d: d["auth"].update(tokne_url="https://x.example"), "auth.tokne_url",
     "is not a known key"),
    (lambda d: d["fields"][0].update(colour="red"), "fields[0].colour", "is not a known key"),
    (lambda d: d.update(guide={"colour": "red"}), "guide.colour", "Input should be"),
    (lambda d: d["fields"][0].pop("label"), "fields[0].label", "is required"),
    (lambda d: d.update(api={"base": "https://x.example"}), "api.base", "is not a known key"),
])
def test_no_key_list_is_kept_by_hand(edit, key, message):
    """Unknown keys at every level are refused by the models' own declarations."""
    data = copy.deepcopy(BODY)
    edit(data)
    with pytest.raises(CatalogError) as raised:
        validate("acme.toml", "acme", data)
    assert raised.value.key == key and message in str(raised.value)


def test_every_catalogue_file_starts_with_the_schema_line():
    """`#:schema ../catalog.schema.json` is each file's first line, and it resolves."""
    paths = sorted(CATALOG_DIR.glob("*.toml"))
    assert paths
    assert [p.name for p in paths if p.read_text().split("\n", 1)[0] != SCHEMA_LINE] == []
    assert (CATALOG_DIR / SCHEMA_LINE.split(" ", 1)[1]).resolve() == SCHEMA_PATH


def test_the_checked_in_schema_is_fresh():
    """`catalogue_schema --check` passes on the repository as committed."""
    assert "is up to date" in schema_check(SCHEMA_PATH)


def test_check_fails_on_a_stale_or_missing_schema_and_writing_fixes_it(tmp_path):
    """A changed or missing file fails --check; the command then writes the fresh one."""
    stale = tmp_path / "catalog.schema.json"
    stale.write_text(SCHEMA_PATH.read_text().replace('"maxLength": 100', '"maxLength": 99'))
    with pytest.raises(CommandError, match="is stale"):
        schema_check(stale)
    with pytest.raises(CommandError, match="is stale"):
        schema_check(tmp_path / "missing.json")
    call_command("catalogue_schema", path=stale, stdout=StringIO())
    assert stale.read_text() == SCHEMA_PATH.read_text()
    assert "is up to date" in schema_check(stale)


def test_editors_accept_every_shipped_file_and_flag_mistakes():
    """The JSON Schema accepts each catalogue file and refuses an unknown key or http://."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    for path in sorted(CATALOG_DIR.glob("*.toml")):
        assert list(validator.iter_errors(tomllib.loads(path.read_text()))) == [], path.name
    for edit in (lambda d: d["auth"].update(tokne_url="x"),
                 lambda d: d["auth"].update(token_url="http://acme.example.com/token")):
        data = copy.deepcopy(BODY)
        edit(data)
        assert list(validator.iter_errors(data))


def test_every_mode_s_rules_run_once_in_the_order_they_were_declared() -> None:
    """AuthSpec and ConnectorSpec are composed of one mixin per auth mode: each mixin's
    rules are collected, and the first refusal reported is the one it always was."""
    assert list(AuthSpec.__pydantic_decorators__.model_validators) == [
        "_token_headers_apply", "_jwt_bearer", "_discovery_rules", "_jwt", "_per_type"]
    assert list(ConnectorSpec.__pydantic_decorators__.model_validators) == [
        "_hosts_rules", "_references", "_app_installation_fields", "_jwt_references",
        "_self_signed_references"]
    with pytest.raises(ValidationError, match="needs an iss claim"):
        ConnectorSpec.model_validate({**BODY, "auth": {
            "type": "jwt_bearer", "token_url": "https://acme.example.com/token"}})


def test_no_module_of_the_format_exceeds_500_lines() -> None:
    package = Path(__file__).resolve().parents[2] / "connectors" / "schema"
    sizes = {path.name: len(path.read_text().splitlines()) for path in package.glob("*.py")}
    assert len(sizes) > 1
    assert max(sizes.values()) <= 500, sizes
