"""Monogram icons drawn inline as SVG: no request leaves the server to draw a page."""

from __future__ import annotations

import hashlib

from django import template
from django.utils.html import format_html

register = template.Library()


def monogram(name: str) -> str:
    words = [w for w in name.replace("(", " ").replace(")", " ").split() if w[:1].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].capitalize()
    return (words[0][0] + words[1][0]).upper()


@register.simple_tag
def connector_icon(connector: object, size: int = 40) -> str:
    name = getattr(connector, "name", str(connector))
    slug = getattr(connector, "slug", name)
    hue = int(hashlib.sha256(slug.encode()).hexdigest()[:4], 16) % 360
    return format_html(
        '<svg class="connector-icon" width="{size}" height="{size}" viewBox="0 0 40 40" '
        'aria-hidden="true" focusable="false"><rect width="40" height="40" rx="8" '
        'fill="hsl({hue},55%,42%)"/><text x="20" y="25.5" text-anchor="middle" '
        'font-family="system-ui,sans-serif" font-size="15" font-weight="600" '
        'fill="#fff">{letters}</text></svg>',
        size=size, hue=hue, letters=monogram(name),
    )
