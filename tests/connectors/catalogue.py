"""The shipped catalogue, loaded once for the tests that check its entries' facts, and how
they read an entry: its spec, a field's pattern, the comments citing the provider's docs."""

from __future__ import annotations

from connectors.schema import ConnectorSpec
from connectors.spec import CATALOG_DIR, load_catalog

CATALOG = load_catalog()


def spec(slug: str) -> ConnectorSpec:
    return ConnectorSpec.from_data(slug, CATALOG[slug])


def pattern(slug: str, key: str) -> str:
    field = spec(slug).field(key)
    assert field is not None and field.pattern
    return field.pattern


def comments(slug: str) -> str:
    """The entry's comment lines: where its facts' sources are cited."""
    text = (CATALOG_DIR / f"{slug}.toml").read_text()
    return "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
