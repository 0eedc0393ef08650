"""HTTP basic authentication with a user name (or email) and a password (or API token).

Credentials stored on the install (encrypted): ``{"username": ..., "password": ...}``.
"""

from __future__ import annotations

from typing import Any

import requests

from connectors import http
from connectors.auth.base import AuthMethod


class Basic(AuthMethod):
    type = "basic"
    credential_keys = shared_keys = ("username", "password")
    missing_message = "Enter the user name and password first."
    credential_label = "user name or password"

    def open_session(self, credentials: dict[str, Any]) -> requests.Session:
        session = http.Session()
        session.auth = (credentials.get("username", ""), credentials.get("password", ""))
        return session
