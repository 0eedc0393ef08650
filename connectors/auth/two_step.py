"""Two-step token exchange: entered credentials buy a short-lived token (Tableau PATs,
Looker API keys, session logins).

The catalogue's `token_request` is sent to `token_url` with its `{field}` placeholders
filled from the merged values (the entered secrets stay encrypted in the install's secret
values); `token_path` finds the token in the JSON answer and `expires_in_path` (else
`default_expires_in`) its lifetime. Stored credentials (encrypted): ``{"access_token": ...}``
and the expiry; API calls carry it as `token_header: token_prefix + token`. There is
nothing to refresh with: `refresh` exchanges the credentials again, like client
credentials. The provider refusing the exchange (any 4xx but 429) means the entered
credentials no longer work: reauthentication; a 5xx, 429, timeout or unreadable answer is
transient.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests
from django.utils import timezone

from connectors import http
from connectors.auth.base import (
    AuthError,
    AuthMethod,
    Credentials,
    ErrorKind,
    InvalidGrant,
    dotted_get,
    faults_are_transient,
    outbound_errors,
    raise_if_unavailable,
)
from connectors.auth.tokens import check_tokens, sane_expires_in, unknown_lifetime


class TwoStep(AuthMethod):
    type = "two_step"
    refreshes = True
    shared_keys = ("access_token",)
    credential_label = "token"

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        """Exchange the entered credentials for a token."""
        answer = self.exchange()
        token = dotted_get(answer, self.spec.auth.token_path)
        if not token:
            raise AuthError("The provider's sign-in answer had no token.",
                            kind=ErrorKind.TOKEN_ERROR)
        check_tokens({"access_token": token}, ("access_token",), "The provider's sign-in answer")
        credentials = Credentials(data={"access_token": token}, expires_at=self.expiry(answer))
        credentials.captured = self.captured(answer, {})
        return credentials

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        """A new exchange; a refusal is `InvalidGrant`, any other fault transient."""
        with faults_are_transient():
            return self.complete(None, {})

    def exchange(self) -> dict[str, Any]:
        """Send the token request; return its JSON answer (an object)."""
        request = self.spec.auth.token_request
        body = self.filled_body(request.body)
        headers = {name: self.header_value(name, value)
                   for name, value in request.headers.items()}
        send: dict[str, Any] = {}
        if body:
            send["json" if request.body_format == "json" else "data"] = body
        session = http.Session()
        with outbound_errors("The sign-in request"), session.secret_bearing():
            response = session.request(request.method, self.url(self.spec.auth.token_url),
                                       headers=headers, allow_redirects=False, **send)
        return self.answer(response)

    def answer(self, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if 400 <= status < 500 and status != 429:  # refused: wrong or revoked credentials
            raise InvalidGrant(f"The provider refused the entered credentials (HTTP {status}); "
                               "edit them and reauthenticate the install.")
        raise_if_unavailable(response, "The provider's sign-in is unavailable (HTTP {status}); "
                                       "try again later.")
        if status >= 300:
            raise AuthError(f"The provider's sign-in failed (HTTP {status}).",
                            kind=ErrorKind.TOKEN_ERROR)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise AuthError("The provider's sign-in answer could not be read.",
                            kind=ErrorKind.TOKEN_ERROR)
        return answer

    def filled_body(self, body: dict[str, Any]) -> dict[str, Any]:
        return {name: self.filled_body(value) if isinstance(value, dict)
                else self.filled_text(value) for name, value in body.items()}

    def expiry(self, answer: dict[str, Any]) -> datetime:
        path = self.spec.auth.expires_in_path
        seconds = sane_expires_in(dotted_get(answer, path)) if path else None
        seconds = seconds or unknown_lifetime(self.spec.auth.default_expires_in)
        return timezone.now() + timedelta(seconds=seconds)

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        session = http.Session()
        token = credentials.get("access_token", "")
        session.headers[self.spec.auth.token_header] = f"{self.spec.auth.token_prefix}{token}"
        return session
