"""Connector cards rendered once and served from a cache: the catalogue pages' hot path.

A card shows only catalogue data (name, description, categories, auth type), plus what
the caller adds to its key (the partner's padlock state, an account id for its links).
Its cache key is a digest of exactly those values and of the card template's source, so
a `sync_connectors` that changes a name or description, or an edit of the template,
simply asks for new keys: nothing has to be invalidated, and nothing stale is served.
(The `cards` cache is per process, so new Python code, which comes with a restart, starts
it empty.) No secret goes into a card; the partner-level settings are never read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.cache import caches
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe

from connectors.models import Connector

CACHE_ALIAS = "cards"
# What a card shows of a connector (the columns its page loads, no more: the catalogue data
# is large); a change to any of them gives the card a new key.
CARD_COLUMNS = ("slug", "name", "description", "category_names", "auth_type")


def template_digest(template_name: str) -> str:
    """Of the template's source, as the loader has it now (it reloads edits in development)."""
    source = get_template(template_name).template.source  # type: ignore[attr-defined]
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def card_key(template: str, connector: Connector, vary: Sequence[object] = ()) -> str:
    """`template` is the card template's digest."""
    values = [getattr(connector, name) for name in CARD_COLUMNS]
    digest = hashlib.sha256(repr((values, tuple(vary))).encode()).hexdigest()[:32]
    return f"card:{template}:{digest}"


def _nothing_else(connector: Connector) -> Sequence[object]:
    return ()


def render_cards(template_name: str, connectors: Iterable[Connector], *,
                 context: dict[str, Any] | None = None,
                 vary: Callable[[Connector], Sequence[object]] = _nothing_else,
                 ) -> list[SafeString]:
    """Each connector's card, rendered with `context` only where the cache has none yet.

    `vary(connector)` returns whatever else the card depends on (it must be in `context`
    or on the connector); one cache round trip reads every card of the page.
    """
    template = template_digest(template_name)
    keyed = [(card_key(template, c, vary(c)), c) for c in connectors]
    cards = caches[CACHE_ALIAS].get_many([key for key, _ in keyed])
    missing = {key: render_to_string(template_name, {**(context or {}), "connector": c})
               for key, c in keyed if key not in cards}
    if missing:
        caches[CACHE_ALIAS].set_many(missing)
        cards.update(missing)
    # Rendered by our own template with autoescaping: safe as it was when rendered.
    return [mark_safe(cards[key]) for key, _ in keyed]  # noqa: S308
