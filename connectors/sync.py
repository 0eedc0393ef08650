"""Loading the catalogue into the database: add, update, retire -- never delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from connectors.models import Catalogue, Category, Connector
from connectors.spec import CATALOG_DIR, load_catalog

PROGRESS_EVERY = 100  # connectors applied between two progress reports
# (what, connectors applied so far, connectors in the catalogue, counts so far)
ProgressCallback = Callable[[str, int, int, str], None]


@dataclass
class SyncResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    # (slug, partner name): a catalogue connector a partner's custom connector shadows --
    # that partner keeps its own (connectors/custom.py).
    shadowed: list[tuple[str, str]] = field(default_factory=list)


def _search_text(data: dict[str, Any]) -> str:
    return " ".join([data["name"], data.get("description", ""), *data.get("categories", [])]
                    ).lower()


def needs_partner_settings(data: dict[str, Any]) -> bool:
    """Whether the connector has a partner-level field (else it is ready without a Save)."""
    return any(field.get("level", "partner") == "partner" for field in data.get("fields", ()))


def is_example(data: dict[str, Any]) -> bool:
    """Whether its endpoints are placeholders on the reserved `.example` domain (RFC 2606):
    a demo-only connector, badged "Example" in the console."""
    urls = [v for v in data.get("auth", {}).values() if isinstance(v, str)]
    urls.append(data.get("api", {}).get("base_url", ""))
    return any((urlsplit(url).hostname or "").endswith(".example") for url in urls
               if url.startswith("https://"))


def connector_columns(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "description": data["description"],
        "category_names": list(data.get("categories", [])),
        "auth_type": data["auth"]["type"],
        "spec_data": data,
        "search_text": _search_text(data),
        "needs_partner_settings": needs_partner_settings(data),
        "is_example": is_example(data),
        "retired_at": None,
    }


def _apply(slug: str, data: dict[str, Any], connector: Connector | None,
           categories: dict[str, Category], result: SyncResult) -> None:
    """Add or update one connector from its catalogue data, noting which it was."""
    columns = connector_columns(data)
    if connector is None:
        connector = Connector.objects.create(slug=slug, **columns)
        result.added.append(slug)
    elif any(getattr(connector, k) != v for k, v in columns.items()):
        for key, value in columns.items():
            setattr(connector, key, value)
        connector.save()
        result.updated.append(slug)
    else:
        result.unchanged.append(slug)
        return
    connector.categories.set([categories[n] for n in columns["category_names"]])


def _no_progress(what: str, done: int, total: int, detail: str) -> None:
    pass


def sync_catalog(directory: Path = CATALOG_DIR, *,
                 progress: ProgressCallback = _no_progress) -> SyncResult:
    """Validate every file first (raising CatalogError), then apply all in one transaction."""
    catalog = load_catalog(directory)
    result = SyncResult()
    with transaction.atomic():
        existing = {c.slug: c for c in Connector.objects.catalogue().select_for_update()}
        categories = {c.name: c for c in Category.objects.all()}
        new_categories = {n for data in catalog.values()
                          for n in data.get("categories", [])} - categories.keys()
        for name in new_categories:
            categories[name] = Category.objects.create(name=name)
        for done, (slug, data) in enumerate(catalog.items(), start=1):
            _apply(slug, data, existing.get(slug), categories, result)
            if done % PROGRESS_EVERY == 0 or done == len(catalog):
                progress("Connectors", done, len(catalog),
                         f"{len(result.added):,} added, {len(result.updated):,} updated")
        now = timezone.now()
        for slug, connector in existing.items():
            if slug not in catalog and connector.retired_at is None:
                connector.retired_at = now
                connector.save(update_fields=["retired_at", "synced_at"])
                result.retired.append(slug)
        if new_categories or result.added or result.updated or result.retired:
            Catalogue.changed()
    result.shadowed = list(Connector.objects.filter(owner__isnull=False, slug__in=catalog)
                           .order_by("slug", "owner__name").values_list("slug", "owner__name"))
    return result
