"""Connectors whose API needs no authentication: installing is enough."""

from __future__ import annotations

from typing import Any

import requests

from connectors import http
from connectors.auth.base import AuthMethod, Credentials


class NoAuth(AuthMethod):
    type = "none"
    credential_label = "request"

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        return Credentials(data={})

    def session(self, credentials: dict[str, Any]) -> requests.Session:
        return http.Session()
