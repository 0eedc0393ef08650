"""`manage.py catalogue_schema`: write connectors/catalog.schema.json from the declared models
(connectors/schema/); `--check` fails when the checked-in file is stale (CI runs it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.schema import ConnectorSpec
from connectors.spec import CATALOG_DIR

SCHEMA_PATH = CATALOG_DIR.parent / "catalog.schema.json"
SCHEMA_LINE = "#:schema ../catalog.schema.json"  # the first line of every catalogue file


def json_schema() -> str:
    """The JSON Schema of one catalogue file, as taplo and Even Better TOML read it."""
    schema = {"title": "Hatchway connector catalogue file",
              **ConnectorSpec.model_json_schema(by_alias=True)}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "Write the JSON Schema of a catalogue file, which editors use as people type."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="Write nothing; exit non-zero when the file is stale (for CI).")
        parser.add_argument("--path", type=Path, default=SCHEMA_PATH,
                            help="Where the schema lives (default: connectors/).")

    def handle(self, *args: Any, check: bool, path: Path, **options: Any) -> None:
        schema = json_schema()
        if not check:
            path.write_text(schema, encoding="utf-8")
            self.stdout.write(f"Wrote {path.name}.")
        elif not path.is_file() or path.read_text(encoding="utf-8") != schema:
            raise CommandError(f"{path.name} is stale: run `python manage.py catalogue_schema` "
                               "and commit the file.")
        else:
            self.stdout.write(f"{path.name} is up to date.")
