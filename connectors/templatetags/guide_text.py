"""`guide_text`: the catalogue's `[guide]` prose as HTML, always escaped.

Paragraphs are separated by blank lines; lines starting "- " form a bulleted list and
lines starting "1. " (any number) a numbered list. Every piece of text goes through
`urlize(autoescape=True)`, which escapes it and links plain URLs, so catalogue text can
never inject markup.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import format_html, format_html_join, urlize
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

BULLET_RE = re.compile(r"^\s*-\s+(.*)$")
NUMBER_RE = re.compile(r"^\s*\d+\.\s+(.*)$")


def _kind(line: str) -> tuple[str, str]:
    """('ul' | 'ol' | 'p', the line's text without its list marker)."""
    for kind, pattern in (("ul", BULLET_RE), ("ol", NUMBER_RE)):
        match = pattern.match(line)
        if match:
            return kind, match.group(1)
    return "p", line.strip()


def _text(value: str) -> SafeString:
    # urlize with autoescape=True escapes all text itself; it just does not mark it safe.
    return mark_safe(urlize(value, nofollow=True, autoescape=True))  # noqa: S308 -- escaped


def _render(kind: str, items: list[str]) -> SafeString:
    if kind == "p":
        return format_html("<p>{}</p>", _text(" ".join(items)))
    rendered = format_html_join("", "<li>{}</li>", ((_text(item),) for item in items))
    return format_html("<{}>{}</{}>", kind, rendered, kind)  # kind is "ul" or "ol"


def _groups(text: str) -> list[tuple[str, list[str]]]:
    """Consecutive lines of one kind, with blank lines ending paragraphs."""
    groups: list[tuple[str, list[str]]] = []
    previous_blank = True
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            previous_blank = True
            continue
        kind, item = _kind(line)
        if groups and groups[-1][0] == kind and not (kind == "p" and previous_blank):
            groups[-1][1].append(item)
        else:
            groups.append((kind, [item]))
        previous_blank = False
    return groups


@register.filter(is_safe=False)
def guide_text(text: str | None) -> SafeString:
    """Render guide prose as paragraphs and lists, escaping everything."""
    return format_html_join("", "{}", ((_render(kind, items),) for kind, items in
                                       _groups(text or "")))
