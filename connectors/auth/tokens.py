"""Reading token responses: what is kept in plaintext to show, what a refresh may leave
out, which tokens are refused before anything is stored, and when a token expires."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from connectors.auth.base import AuthError, ErrorKind

# Token-response keys known to be non-secret, kept in plaintext to show on the install
# page. An allow-list: a provider's new field (`jwt`, `assertion`, `webhook_url` ...) is
# stored encrypted with the credentials or not at all, never shown by default.
PUBLIC_INFO_KEYS = frozenset({
    "scope", "token_type", "expires_in", "issued_at",
    "instance_url", "id",                                  # Salesforce
    "realmId",                                             # QuickBooks (callback)
    "shop", "location", "accounts-server", "api_domain",   # Shopify, Zoho
    "user_id", "user_name", "username", "screen_name", "name", "email",
    "team_id", "team_name", "workspace_id", "workspace_name", "bot_id", "bot_user_id",
    "app_id", "account_id", "account_name", "organization_id", "enterprise_id",
    "oauth_authorized_realms", "x_auth_expires", "edam_userId", "edam_shard",
})


def public_info(data: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The short scalar values of the allow-listed non-secret keys of a token response."""
    info: dict[str, Any] = {}
    for name, value in data.items():
        if name in skip or name not in PUBLIC_INFO_KEYS:
            continue
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 300):
            info[name] = value
    return info


#: RFC 6749 §6 (and §5.1 for scope): what a refresh response may leave out and still mean.
KEPT_WHEN_UNRETURNED = ("refresh_token", "scope")


def keep_unreturned(previous: Mapping[str, Any], fresh: Mapping[str, Any]) -> dict[str, Any]:
    """Fresh credentials, with the refresh token and scope of `previous` where the
    provider returned none: the old ones stay valid."""
    data = dict(fresh)
    for key in KEPT_WHEN_UNRETURNED:
        if previous.get(key) and not data.get(key):
            data[key] = previous[key]
    return data


#: Longest access or refresh token stored; a provider's are a few hundred bytes to a few KB.
MAX_TOKEN_LENGTH = 16 * 1024
TOKEN_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def check_tokens(data: Mapping[str, Any], keys: tuple[str, ...], label: str) -> None:
    """Refuse, before anything is stored, a token that is too long or holds a control
    character (CR, LF, NUL ...: it would end a header line). The error holds no token."""
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        name = key.replace("_", " ")
        if not isinstance(value, str):
            raise AuthError(f"{label} held a {name} that is not text, so nothing was stored.",
                            kind=ErrorKind.TOKEN_ERROR)
        if len(value) > MAX_TOKEN_LENGTH:
            raise AuthError(f"{label} held a {name} longer than 16 KB, so nothing was stored.",
                            kind=ErrorKind.TOKEN_ERROR)
        if TOKEN_CONTROL_RE.search(value):
            raise AuthError(f"{label} held a {name} with control characters, so nothing was "
                            "stored.", kind=ErrorKind.TOKEN_ERROR)


#: An `expires_in` beyond this is not believed (RFC 6749 §5.1 gives no bound; a year is the
#: longest a catalogue's `default_expires_in` may be).
MAX_EXPIRES_IN = 366 * 86400


def sane_expires_in(expires_in: Any) -> int | None:
    """`expires_in` as whole seconds when it is a positive number up to a year, else None."""
    if isinstance(expires_in, bool):
        return None
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0 < seconds <= MAX_EXPIRES_IN:  # also false for NaN
        return None
    return max(int(seconds), 1)


def unknown_lifetime(default_expires_in: int = 0) -> int:
    """The seconds to assume for a token whose `expires_in` makes no sense: the catalogue's
    `default_expires_in`, else twice the refresh margin (so it is refreshed within one)."""
    return default_expires_in or 2 * settings.TOKEN_REFRESH_MARGIN


def expiry(expires_in: Any) -> datetime | None:
    """When a token with this `expires_in` expires: None when it gave none (no expiry),
    a short unknown lifetime when what it gave makes no sense."""
    if expires_in is None or expires_in == "":
        return None
    seconds = sane_expires_in(expires_in)
    return timezone.now() + timedelta(seconds=seconds or unknown_lifetime())
