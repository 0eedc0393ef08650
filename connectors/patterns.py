"""Catalogue- and partner-supplied regular expressions (a field's `pattern`), run with RE2.

RE2 matches in time linear in the value by construction, so no pattern can stall a request
the way `(a+)+$` stalls Python's backtracking `re`. The price is the syntax RE2 refuses
(backreferences, lookaround, possessive repeats, `\\Z`): such a pattern is refused when
the catalogue is loaded, naming the file and the key (docs/catalogue.md lists them).
Our own fixed expressions keep using `re`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is our error to report, not a log line

# The end of a pattern that fixes the host's domain: at least two literal labels (or a
# group of literal alternatives, like Zoho's `\.(com|eu|com\.au)`) right before `$`.
_LABEL = r"[a-z0-9-]+(?:\\\.[a-z0-9-]+)*"
HOST_SUFFIX_RE = re.compile(
    rf"(?:\\\.(?:[a-z0-9-]+|\((?:\?:)?{_LABEL}(?:\|{_LABEL})*\))){{2,}}\$$")


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> re2._Regexp:
    """The RE2 program for `pattern`; ValueError (with RE2's reason) when RE2 refuses it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise ValueError(f"is not a pattern RE2 accepts ({reason})") from None


def fullmatches(pattern: str, value: str) -> bool:
    """Whether `value` as a whole matches `pattern` (RE2, linear time)."""
    return compiled(pattern).fullmatch(value) is not None


def _has_top_level_alternation(pattern: str) -> bool:
    depth, index, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            return True
        index += 1
    return False


@lru_cache(maxsize=1024)
def anchors_https_host(pattern: str) -> bool:
    """Whether every value `pattern` fully matches is `https://` on a fixed domain.

    Together with the bare-origin check at sign-in (connectors/templating.py) this keeps a
    captured base URL on the provider's own domain.
    """
    return (pattern.startswith("^https://") and not _has_top_level_alternation(pattern)
            and bool(HOST_SUFFIX_RE.search(pattern)))
