"""Random tokens stored only as a hash (install links, API keys), and cache versions.

The tokens carry at least 256 bits of entropy, so a fast hash is right: a slow password
hash would add latency to every lookup and protect nothing a guess could find.
"""

from __future__ import annotations

import hashlib
import secrets


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_state() -> str:
    """A fresh OAuth `state` (also an install link's token): 256 random bits."""
    return secrets.token_urlsafe(32)


def new_version() -> int:
    """A cache version: 63 random bits (a signed BIGINT), never handed out twice in practice.

    Random rather than counted, so that a version survives no rollback, flush or restore:
    a row made again never takes the version of what a process cached before.
    """
    return secrets.randbits(63)
