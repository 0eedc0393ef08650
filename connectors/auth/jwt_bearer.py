"""JWT bearer grant (RFC 7523 §2.1): a service account's signed assertion buys an access
token (Google service accounts, Salesforce's JWT bearer flow, DocuSign's JWT grant).

There is no browser step and nothing to refresh with: for each token request -- at
install and every time the workers renew before expiry -- a new assertion is signed with
the `private_key` field's key (`algorithm`: RS256 or ES256), holding the catalogue's
`claims` (their `{field}` placeholders filled, `{scopes}` the chosen scopes), `aud`
(`audience`, else `token_url`), `iat`, `exp` (`assertion_lifetime` later) and a random
`jti`; the optional `key_id` field becomes the header's `kid`. It is posted with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` (and ``scope`` when no claim
carries the scopes). Stored credentials (encrypted): ``access_token``, ``token_type``.

The key stays in the install's (or the partner's) encrypted secret values; neither it
nor an assertion is ever stored elsewhere, logged or put in an error. The provider
refusing the grant (any 4xx but 429) means the key or the identities no longer work:
reauthentication; 5xx, 429, timeouts and unreadable answers are transient.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
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
    faults_are_transient,
    outbound_errors,
    raise_if_unavailable,
    safe_error_code,
)
from connectors.auth.keys import KeyProblem, load_private_key, sign
from connectors.auth.tokens import check_tokens, public_info, sane_expires_in, unknown_lifetime
from connectors.schema import (
    JWT_SCOPES_PLACEHOLDER,
    KEY_ID_FIELD,
    PLACEHOLDER_RE,
    PRIVATE_KEY_FIELD,
)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class JWTBearer(AuthMethod):
    type = "jwt_bearer"
    refreshes = True
    shared_keys = ("access_token", "token_type")

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        """Sign an assertion and exchange it for an access token."""
        answer = self.exchange(self.assertion())
        token = answer.get("access_token")
        if not token:
            raise AuthError("The provider's token answer had no access token.",
                            kind=ErrorKind.TOKEN_ERROR)
        check_tokens(answer, ("access_token",), "The provider's token answer")
        token_type = answer.get("token_type")
        data = {"access_token": token,
                "token_type": token_type if isinstance(token_type, str) else "Bearer"}
        seconds = (sane_expires_in(answer.get("expires_in"))
                   or unknown_lifetime(self.spec.auth.default_expires_in))
        credentials = Credentials(data=data, info=public_info(answer, skip=("expires_in",)),
                                  expires_at=timezone.now() + timedelta(seconds=seconds))
        credentials.captured = self.captured(answer, {})
        return credentials

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        """A new assertion and exchange; a refusal is `InvalidGrant`, a fault transient."""
        with faults_are_transient():
            return self.complete(None, {})

    # --- the assertion -------------------------------------------------------------------

    def private_key(self) -> bytes:
        try:
            return load_private_key(self.value(PRIVATE_KEY_FIELD), self.spec.auth.algorithm)
        except KeyProblem as problem:
            raise AuthError(f"The private key cannot be used: {problem.message} Edit the "
                            "install's details.", kind=ErrorKind.CONFIGURATION) from None

    def assertion(self) -> str:
        """A freshly signed assertion: never stored, logged or shown."""
        now = int(time.time())
        claims: dict[str, Any] = {name: value for name, value in
                                  ((name, self.claim(template))
                                   for name, template in self.spec.auth.claims.items()) if value}
        claims.update(aud=self.url(self.spec.auth.audience or self.spec.auth.token_url),
                      iat=now, exp=now + self.spec.auth.assertion_lifetime,
                      jti=secrets.token_urlsafe(16))
        header = {"kid": self.value(KEY_ID_FIELD)} if self.value(KEY_ID_FIELD) else {}
        return sign(header, claims, self.private_key(), self.spec.auth.algorithm)

    def claim(self, template: str) -> str:
        """A claim filled as entered; `{scopes}` is the chosen scopes ("" when none)."""
        return self.filled_text(template, {JWT_SCOPES_PLACEHOLDER: lambda: self.scope() or ""})

    @property
    def scopes_in_claims(self) -> bool:
        return any(JWT_SCOPES_PLACEHOLDER in PLACEHOLDER_RE.findall(template)
                   for template in self.spec.auth.claims.values())

    # --- the token request ---------------------------------------------------------------

    def exchange(self, assertion: str) -> dict[str, Any]:
        form = {"grant_type": GRANT_TYPE, "assertion": assertion}
        scope = self.scope()
        if scope and not self.scopes_in_claims:
            form["scope"] = scope
        session = http.Session()
        with outbound_errors("The token request"), session.secret_bearing():
            response = session.post(self.url(self.spec.auth.token_url), data=form,
                                    headers={"Accept": "application/json"},
                                    allow_redirects=False)
        return self.answer(response)

    def answer(self, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if 400 <= status < 500 and status != 429:  # refused: the key or identity is not accepted
            code = safe_error_code(answer.get("error") if isinstance(answer, dict) else None)
            raise InvalidGrant(f"The provider refused the signed assertion (HTTP {status}"
                               f"{': ' + code if code else ''}); check the service account "
                               "and its key, then reauthenticate the install.")
        raise_if_unavailable(response, "The provider's token endpoint is unavailable "
                                       "(HTTP {status}); try again later.")
        if status >= 300:
            raise AuthError(f"The token request failed (HTTP {status}).",
                            kind=ErrorKind.TOKEN_ERROR)
        if not isinstance(answer, dict):
            raise AuthError("The provider's token answer could not be read.",
                            kind=ErrorKind.TOKEN_ERROR)
        return answer

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        session = http.Session()
        session.headers["Authorization"] = f"Bearer {credentials.get('access_token', '')}"
        return session
