"""HTTP basic authentication with a user name (or email) and a password (or API token).

Credentials stored on the install (encrypted): ``{"username": ..., "password": ...}``.
Some providers (Ashby, Chargebee, Dropbox Sign) take an API key as the user name and a blank
password: a catalogue entry says so by declaring its password field `required = false`.
"""

from __future__ import annotations

from typing import Any

import requests

from connectors import http
from connectors.auth.base import AuthMethod, Credentials


class Basic(AuthMethod):
    type = "basic"
    credential_keys = shared_keys = ("username", "password")
    missing_message = "Enter the user name and password first."
    credential_label = "user name or password"

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        """The entered pair; the password may be blank only where the catalogue makes the
        password field optional (the provider documents an empty password)."""
        if self.value("username") and not self.value("password") and not self.password_required:
            return Credentials(data={"username": self.value("username"), "password": ""})
        return super().complete(attempt, params)

    @property
    def password_required(self) -> bool:
        return next((f.required for f in self.spec.fields if f.key == "password"), True)

    def open_session(self, credentials: dict[str, Any]) -> requests.Session:
        session = http.Session()
        session.auth = (credentials.get("username", ""), credentials.get("password", ""))
        return session
