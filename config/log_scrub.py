"""A logging filter that redacts credential-looking values from every record and escapes
control characters (a decoded %0A in a logged path must not start a forged line).

Third-party libraries are pinned to WARNING in settings; this is the second line of
defence for anything that still formats a token, code or secret into a message. gunicorn's
access log (config/gunicorn.conf.py) and the development server's log go through it too.
"""

from __future__ import annotations

import logging
import re

_SECRET_NAMES = (
    "access_token|refresh_token|id_token|client_secret|code_verifier|code|oauth_verifier|"
    "oauth_token_secret|oauth_token|password|api_key|apikey|secret|token|authorization"
)
_PATTERNS = [
    # key=value in query strings and form bodies
    re.compile(rf"(?i)\b({_SECRET_NAMES})=([^&\s'\"]+)"),
    # "key": "value" in JSON or dict reprs
    re.compile(rf"(?i)(['\"](?:{_SECRET_NAMES})['\"]\s*:\s*)(['\"])[^'\"]*\2"),
    # Authorization headers
    re.compile(r"(?i)\b(Bearer|Basic|OAuth)\s+[A-Za-z0-9._~+/=\-,\" ]{8,}"),
    # Install-link and invitation tokens in request paths (django.request logs 4xx paths)
    re.compile(r"(/install/|/invitations/)[A-Za-z0-9_-]{20,}"),
    # Password reset and SSO recovery link tokens (/reset/<uid>/<token>/,
    # /login/recovery/<uid>/<token>/)
    re.compile(r"((?:/reset/|/login/recovery/)[A-Za-z0-9_-]+/)[^/\s'\"?]{20,}"),
]
REDACTED = "[redacted]"
# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """Control characters as visible escapes (`\\n`, `\\x1b`): one record, one line."""
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def scrub(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[3].sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _PATTERNS[4].sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class ScrubSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record must not break logging
            return True
        cleaned = escape_controls(scrub(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
