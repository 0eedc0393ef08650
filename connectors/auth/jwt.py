"""Self-signed JWT (issue 21 §3): a token the install signs itself and sends as it is, with
no token endpoint (Ghost's Admin API, App Store Connect, Snowflake key-pair auth).

The catalogue declares `algorithm` (RS256 or ES256 with a PEM private key, HS256 with a
hex-encoded shared secret), `claims` and `jwt_header` (their `{field}` placeholders
filled, e.g. ``kid = "{key_id}"``), `lifetime`, and how API calls carry the token
(`token_header`, `token_prefix`: Ghost's ``Authorization: Ghost <token>``).

Minted at use time, never stored: each verify request, proxied call and credentials read
gets a token signed just then, with `iat` now and `exp` `lifetime` later. Only the key
fields are kept (the install's or the partner's encrypted secret values); the install's
credentials are only the marker ``{"minted_at_use": true}`` and never expire, so the
refresh workers never pick it up. That is on purpose: Ghost's tokens live at most 5
minutes, less than the global refresh margin, so a stored token would be "due" on every
worker pass and renewed (and audited) each time.
A key that cannot sign is a configuration error saying why, never quoting the key.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from connectors import http
from connectors.auth.base import AuthError, AuthMethod, Credentials, ErrorKind
from connectors.auth.keys import KeyProblem, load_hmac_secret, load_private_key, sign
from connectors.schema import PRIVATE_KEY_FIELD

#: The install's stored credentials: no secret, just "authenticated, tokens minted at use".
MARKER = {"minted_at_use": True}


class SelfSignedJWT(AuthMethod):
    type = "jwt"
    credential_label = "signed token"
    shared_keys = ("access_token",)

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        """Nothing to fetch: the key is checked by signing once; the credentials stored
        are only a marker (no token, no expiry) that the install is authenticated."""
        self.mint()
        return Credentials(data=dict(MARKER))

    def signing_key(self) -> bytes:
        text = self.value(PRIVATE_KEY_FIELD)
        if not text:
            raise AuthError("The key is missing. Edit the install's details.",
                            kind=ErrorKind.CONFIGURATION)
        algorithm = self.spec.auth.algorithm
        try:
            if algorithm == "HS256":
                return load_hmac_secret(text)
            return load_private_key(text, algorithm)
        except KeyProblem as problem:
            raise AuthError(f"The key cannot be used: {problem.message} Edit the install's "
                            "details.", kind=ErrorKind.CONFIGURATION) from None

    def mint(self) -> tuple[str, datetime]:
        """A freshly signed token and when it expires: never stored, logged or shown."""
        now = int(time.time())
        lifetime = self.spec.auth.lifetime
        claims: dict[str, Any] = {name: value for name, value in (
            (name, self.filled_text(template)) for name, template in
            self.spec.auth.claims.items()) if value}
        claims.update(iat=now, exp=now + lifetime)
        header = {name: value for name, value in (
            (name, self.filled_text(template)) for name, template in
            self.spec.auth.jwt_header.items()) if value}
        token = sign(header, claims, self.signing_key(), self.spec.auth.algorithm)
        return token, timezone.now() + timedelta(seconds=lifetime)

    def shared(self, credentials: dict[str, Any], expires_at: datetime | None
               ) -> tuple[dict[str, Any], datetime | None]:
        """A credentials read hands out a token minted now, with its own expiry."""
        token, expires = self.mint()
        return {"access_token": token}, expires

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        session = http.Session()
        token, _ = self.mint()
        session.headers[self.spec.auth.token_header] = f"{self.spec.auth.token_prefix}{token}"
        return session
