"""`info_label`: a readable name for a token-response fact shown on the install page."""

from __future__ import annotations

import re

from django import template

register = template.Library()

# Provider keys whose readable name is not just the key with spaces.
KNOWN = {
    "instance_url": "Instance URL",
    "realmId": "Realm ID",
    "oauth_authorized_realms": "Authorized realms",
    "token_type": "Token type",
    "id": "ID",
}


@register.filter
def info_label(key: str) -> str:
    """`instance_url` → "Instance URL", `botUserId` → "Bot user id"."""
    key = str(key)
    if key in KNOWN:
        return KNOWN[key]
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key.removeprefix("oauth_")).replace("_", " ")
    words = " ".join(words.split()).lower()
    if not words:
        return key
    words = re.sub(r"\b(url|id)\b", lambda match: match.group(1).upper(), words)
    return words[:1].upper() + words[1:]
