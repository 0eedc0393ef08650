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


# --- external ids ------------------------------------------------------------------------
# The partner's own id for an account: a path segment of the API (`/accounts/{external_id}`),
# so no "/"; and one id must not pass for another, so no control characters (Cc) and no
# invisible formatting characters (Cf: zero-width, soft hyphen, byte order mark, bidi), and
# ids are compared in NFC (a composed "é" and "e" + combining accent are the same id).

EXTERNAL_ID_MESSAGE = ("External ids cannot contain “/”, control characters or invisible "
                       "formatting characters (zero-width or text-direction).")


def external_id_problem(text: str) -> str | None:
    """Why this external id breaks the rule ("/", a control or a formatting character), or
    None. NFC never adds such a character, so the stored form is checked by checking this."""
    if "/" in text:
        return "contains “/”"
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf"):
            kind = "control" if category == "Cc" else "invisible formatting"
            return f"contains the {kind} character U+{ord(char):04X}"
    return None


def validate_external_id(text: str) -> None:
    """ValidationError when the external id breaks the rule (a field validator)."""
    if external_id_problem(text):
        raise ValidationError(EXTERNAL_ID_MESSAGE, code="invalid_external_id")


def normal_external_id(text: str) -> str:
    """The form an external id is stored and compared in (NFC)."""
    return unicodedata.normalize("NFC", text)


def external_id_forms(text: str) -> list[str]:
    """The id as given, in NFC and in NFD: what it may be stored as (rows written before ids
    were normalised may hold another form), exact form first."""
    return list(dict.fromkeys([text, normal_external_id(text),
                               unicodedata.normalize("NFD", text)]))
