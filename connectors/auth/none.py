"""Connectors whose API needs no authentication: installing is enough."""

from __future__ import annotations

from typing import Any

from connectors import http
from connectors.auth.base import AuthMethod


class NoAuth(AuthMethod):
    """No credential keys, so `complete` returns empty credentials."""

    type = "none"
    credential_label = "request"

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        return http.Session()
