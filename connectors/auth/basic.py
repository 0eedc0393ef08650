"""HTTP basic authentication with a user name (or email) and a password (or API token).

Credentials stored on the install (encrypted): ``{"username": ..., "password": ...}``.
Some providers (Ashby, Chargebee, Dropbox Sign) take an API key as the user name and a blank
password: a catalogue entry says so by declaring its password field `required = false`.
Others (lemlist) take a blank user name and the key as the password: the entry declares its
username field `required = false`.
"""

from __future__ import annotations

from typing import Any

from connectors import http
from connectors.auth.base import AuthMethod, Credentials


class Basic(AuthMethod):
    type = "basic"
    credential_keys = shared_keys = ("username", "password")
    missing_message = "Enter the user name and password first."
    credential_label = "user name or password"

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        """The entered pair; either half may be blank only where the catalogue makes its
        field optional (the provider documents an empty user name or password), never both."""
        data = {key: self.value(key) for key in self.credential_keys}
        if any(data.values()) and all(data[key] or not self.required(key) for key in data):
            return Credentials(data=data)
        return super().complete(attempt, params)

    def required(self, key: str) -> bool:
        return next((f.required for f in self.spec.fields if f.key == key), True)

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        session = http.Session()
        session.auth = (credentials.get("username", ""), credentials.get("password", ""))
        return session
