"""Names people give things (accounts, installs): text that reads as what it is.

Control characters (a newline, an escape sequence) and the Unicode characters that change
the direction of text around them (the "Trojan Source" overrides, isolates and marks)
are refused: in a list, an audit line or an email they would make one name display as
another -- `Acme\u202egnp.exe` shows as `Acmeexe.png`.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

#: Embeddings, overrides, isolates and direction marks (Unicode's bidi formatting characters).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
HIDDEN_NAME_MESSAGE = "Names cannot contain control characters or text-direction overrides."


def has_hidden_characters(text: str) -> bool:
    """Control characters (Cc), line and paragraph separators, or bidi controls."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in BIDI_CONTROLS
               for c in text)


def validate_name(text: str) -> None:
    """ValidationError when the name holds a hidden character (a form field validator)."""
    if has_hidden_characters(text):
        raise ValidationError(HIDDEN_NAME_MESSAGE, code="hidden_characters")
