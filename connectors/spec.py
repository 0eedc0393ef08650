"""Loading the connector catalogue: `connectors/catalog/*.toml`, read with `tomllib` and
validated by the declared models in connectors/schema/. Any problem raises
:class:`CatalogError` naming the file and the dotted key
(`salesforce.toml: auth.token_url: must be an https:// URL`). The validated data is stored
on the Connector row as JSON and turned back into a :class:`ConnectorSpec` where needed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from connectors.schema import At, ConnectorSpec

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MESSAGES = {"missing": "is required", "extra_forbidden": "is not a known key"}


class CatalogError(ValueError):
    """A catalogue file that does not follow the format; names the file and the key."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}")


def problem(error: ErrorDetails) -> tuple[str, str]:
    """(dotted key, message) of one pydantic error: `fields[1].pattern`, `api.headers.X-A`."""
    key = ""
    for part in error["loc"]:
        if part != "[key]":  # a dict key's own error: name the key itself
            key += f"[{part}]" if isinstance(part, int) else f"{'.' if key else ''}{part}"
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, At):
        key = f"{key}.{cause.key}" if key else cause.key
    if isinstance(cause, ValueError):
        return key, str(cause)
    return key, MESSAGES.get(error["type"], error["msg"])


def parse(source: str, data: Any) -> ConnectorSpec:
    """The spec `data` declares, or CatalogError naming `source` and the first bad key."""
    try:
        return ConnectorSpec.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(source, *problem(exc.errors()[0])) from None


def validate(source: str, slug: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check one parsed catalogue file; return the data to store (field levels filled)."""
    if not SLUG_RE.match(slug):
        raise CatalogError(source, "(file name)", "must be lower-case letters, digits and '-'")
    spec = parse(source, data)
    fields = [{**item, "level": field.level}
              for item, field in zip(data.get("fields", []), spec.fields, strict=True)]
    return {**data, "fields": fields}


def load_file(path: Path) -> tuple[str, dict[str, Any]]:
    """Parse and validate one catalogue file; return (slug, data)."""
    source = path.name
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(source, "(syntax)", str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(source, "(encoding)", "is not UTF-8") from exc
    return path.stem, validate(source, path.stem, data)


def load_catalog(directory: Path = CATALOG_DIR) -> dict[str, dict[str, Any]]:
    """Every catalogue file in `directory`, validated, keyed by slug."""
    paths = sorted(directory.glob("*.toml")) if directory.is_dir() else []
    if not paths:
        # A mistyped --catalog must not read as "every connector was removed" and retire all.
        raise CatalogError(str(directory), "(directory)", "contains no catalogue files (*.toml)")
    catalog = dict(load_file(path) for path in paths)
    for slug, data in catalog.items():
        original = data.get("variant_of", "")
        if original and (original == slug or catalog.get(original, {}).get("variant_of", "")
                         or original not in catalog):
            raise CatalogError(f"{slug}.toml", "variant_of",
                               "must name another catalogue entry that is not itself a variant")
    return catalog
