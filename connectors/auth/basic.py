"""HTTP basic authentication with a user name (or email) and a password (or API token).

Credentials stored on the install (encrypted): ``{"username": ..., "password": ...}``.
"""

from __future__ import annotations

from typing import Any

import requests

from connectors import http
from connectors.auth.base import AuthError, AuthMethod, Credentials


class Basic(AuthMethod):
    type = "basic"
    credential_keys = ("username", "password")
    credential_label = "user name or password"

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        if not self.value("username") or not self.value("password"):
            raise AuthError("Enter the user name and password first.", kind="configuration")
        return Credentials(data={"username": self.value("username"),
                                 "password": self.value("password")})

    def session(self, credentials: dict[str, Any]) -> requests.Session:
        session = http.Session()
        session.auth = (credentials.get("username", ""), credentials.get("password", ""))
        return session
