"""The registry of authentication methods: `auth.type` in the catalogue -> class.

Filled in explicitly as each method module lands; no import-time discovery.
"""

from __future__ import annotations

from connectors.auth.base import AuthMethod

AUTH_METHODS: dict[str, type[AuthMethod]] = {}
