"""Catalogue HTML rendered once and served from a cache: the catalogue pages' hot path.

Two levels, both per process:

- **Cards.** A card shows only catalogue data (name, description, categories, auth
  type), plus what the caller adds to its key (the partner's padlock state, an account id
  for its links). Its key is a digest of exactly those values and of the card template's
  source, so a `sync_connectors` that changes a name or description, or an edit of the
  template, simply asks for new keys: nothing has to be invalidated, nothing stale is
  served.
- **Listings.** Below its heading, a catalogue page (the filter form, the count, the
  cards, the pagination) depends only on its query string and on versions the caller
  names: the catalogue's (`Catalogue.version`, one query) and, for the library's
  padlocks, the partner's (`Partner.auth_settings_version`, loaded with the user). Every
  change replaces a version, so the next request of every process asks for a new key.
  A listing holds nothing of the person looking at it: it is shared by the partner's
  members, and its templates may show only the catalogue, the padlocks and the query.

(The caches are per process, so new Python code, which comes with a restart, starts them
empty.) No secret goes into either; the partner-level settings are never read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe

from connectors.models import Connector

CACHE_ALIAS = "cards"
LISTINGS_ALIAS = "listings"
# What a card shows of a connector (the columns its page loads, no more: the catalogue data
# is large); a change to any of them gives the card a new key.
CARD_COLUMNS = ("slug", "name", "description", "category_names", "auth_type",
                "needs_partner_settings", "is_example", "owner_id")


def template_digest(*template_names: str) -> str:
    """Of the templates' sources, as the loader has them now (it reloads edits in development)."""
    digest = hashlib.sha256()
    for name in template_names:
        digest.update(get_template(name).template.source.encode())  # type: ignore[attr-defined]
    return digest.hexdigest()[:16]


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


def cached_listing(request: HttpRequest, templates: Sequence[str], *,
                   versions: Sequence[object],
                   context: Callable[[], dict[str, Any]]) -> SafeString:
    """The listing `templates[0]` renders for this query string, rendered with `context()`
    only where this process has none yet for these `versions`.

    `templates` names the listing's template first, then every template it includes (their
    sources are part of the key); `versions` must change with anything else it shows.
    """
    # Whether the sandbox runs decides which connectors are listed at all (`active()`).
    key_parts = (template_digest(*templates), tuple(versions), request.GET.urlencode(),
                 settings.SANDBOX_ENABLED)
    key = "listing:" + hashlib.sha256(repr(key_parts).encode()).hexdigest()[:32]
    html: str | None = caches[LISTINGS_ALIAS].get(key)
    if html is None:
        # With the request for `{% querystring %}`; nothing of the person may be shown.
        html = render_to_string(templates[0], context(), request=request)
        caches[LISTINGS_ALIAS].set(key, html)
    return mark_safe(html)  # noqa: S308  # our own template, autoescaped when rendered
