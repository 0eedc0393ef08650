"""`manage.py catalogue_docs`: write docs/connectors.md (coverage by category and auth mode,
and the list of connectors) from the catalogue; `--check` fails when the committed file is
stale (CI runs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.coverage import DOCS_PATH, coverage_markdown, is_current
from connectors.spec import load_catalog


class Command(BaseCommand):
    help = "Write the catalogue's coverage page (docs/connectors.md) from connectors/catalog/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="Write nothing; exit non-zero when the page is stale (for CI).")
        parser.add_argument("--path", type=Path, default=DOCS_PATH,
                            help="Where the page lives (default: docs/connectors.md).")

    def handle(self, *args: Any, check: bool, path: Path, **options: Any) -> None:
        text = coverage_markdown(load_catalog())
        if not check:
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {path.name}.")
        elif not is_current(path, text):
            raise CommandError(f"{path.name} is stale: run `python manage.py catalogue_docs` "
                               "and commit the file.")
        else:
            self.stdout.write(f"{path.name} is up to date.")
