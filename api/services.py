"""Creating, finding and revoking API keys; each change is audited."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Partner
from api.models import ApiKey, Scope
from audit import events as audit
from core.tokens import hash_token

security_log = logging.getLogger("hatchway.security")

KEY_PREFIX = "hw_"
KEY_RE = re.compile(r"^hw_[A-Za-z0-9_-]{43}$")
#: How much of a key the list shows ("hw_" and five characters: 30 bits, not a secret).
SHOWN_PREFIX = len(KEY_PREFIX) + 5


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_key(*, partner: Partner, name: str, scopes: Iterable[str], actor: Any,
               actor_label: str = "") -> tuple[ApiKey, str]:
    """A new key and its plaintext (the only time it exists)."""
    scopes = sorted(set(scopes) & set(Scope.values))
    token = new_key()
    with transaction.atomic():
        key = ApiKey.objects.create(partner=partner, name=name, prefix=token[:SHOWN_PREFIX],
                                    key_hash=hash_token(token), scopes=scopes,
                                    created_by=audit.as_user(actor))
        audit.record(audit.Action.API_KEY_CREATED, partner=partner, actor=actor,
                     actor_label=actor_label, api_key=key.pk, name=name, prefix=key.prefix,
                     scopes=scopes)
    return key, token


def find_key(token: str) -> ApiKey | None:
    """The active key a bearer token names; None for a malformed, unknown or revoked one."""
    if not KEY_RE.match(token):
        security_log.info("API request with a malformed key")
        return None
    # Not the partner's logo (up to 256 KB): no API request shows it.
    try:  # key_hash is unique: no ORDER BY
        return ApiKey.objects.active().select_related("partner").defer("partner__logo").get(
            key_hash=hash_token(token))
    except ApiKey.DoesNotExist:
        security_log.info("API request with an unknown or revoked key")
        return None


def revoke_key(*, key: ApiKey, actor: Any) -> bool:
    """Revoke an active key; False when it was revoked already (nothing changes)."""
    with transaction.atomic():
        changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if changed:
            audit.record(audit.Action.API_KEY_REVOKED, partner=key.partner, actor=actor,
                         api_key=key.pk, name=key.name, prefix=key.prefix)
    key.refresh_from_db(fields=["revoked_at"])
    return bool(changed)
