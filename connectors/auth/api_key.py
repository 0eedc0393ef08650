"""API key: the key entered at install, sent in a header (with a prefix) or a query parameter.

Credentials stored on the install (encrypted): ``{"api_key": ...}``.
"""

from __future__ import annotations

from typing import Any

from connectors import http
from connectors.auth.base import AuthMethod


class APIKey(AuthMethod):
    type = "api_key"
    credential_keys = shared_keys = ("api_key",)
    missing_message = "Enter the API key first."
    credential_label = "API key"

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        session = http.Session()
        key = credentials.get("api_key", "")
        if self.spec.auth.query_param:
            session.params = {self.spec.auth.query_param: key}
        else:
            session.headers[self.spec.auth.header] = f"{self.spec.auth.prefix}{key}"
        return session
