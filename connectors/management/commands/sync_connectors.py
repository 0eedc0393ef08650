"""`manage.py sync_connectors`: load the catalogue files into the database (connectors/sync.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.spec import CATALOG_DIR, CatalogError, load_catalog
from connectors.sync import sync_catalog
from core.progress import Progress


class Command(BaseCommand):
    help = "Load connectors/catalog/*.toml into the database (idempotent, one transaction)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--catalog", type=Path, default=CATALOG_DIR,
                            help="Directory of catalogue files (default: connectors/catalog).")
        parser.add_argument("--check", action="store_true",
                            help="Only validate the files; write nothing (for CI).")

    def handle(self, *args: Any, catalog: Path, check: bool = False, **options: Any) -> None:
        if check:
            try:
                count = len(load_catalog(catalog))
            except CatalogError as exc:
                raise CommandError(f"Catalogue invalid. {exc}") from exc
            self.stdout.write(f"Catalogue valid: {count} connectors.")
            return
        started, progress = time.monotonic(), Progress(self.stdout)
        try:
            result = sync_catalog(catalog, progress=progress.update)
        except CatalogError as exc:
            raise CommandError(f"Catalogue not loaded, nothing changed. {exc}") from exc
        finally:
            progress.done()
        self.stdout.write(
            f"Connectors: {len(result.added)} added, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged, {len(result.retired)} retired "
            f"in {time.monotonic() - started:.1f} s."
        )
        for slug, partner in result.shadowed:
            self.stderr.write(self.style.WARNING(
                f"Warning: partner {partner!r} has a custom connector {slug!r}; it keeps "
                f"its own, and does not see the catalogue's {slug!r}."))
