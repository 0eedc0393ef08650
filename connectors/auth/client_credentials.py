"""OAuth 2.0 client credentials grant (RFC 6749 §4.4): no browser step.

The partner's (or the install's) client id and secret buy an access token directly.
There is no refresh token: `refresh` simply fetches a new token. Stored credentials are
the same as for the authorization code grant (``access_token``, ``token_type``, ``scope``).
The connector's ``authorize_params`` are sent as extra token request parameters (for
providers that want e.g. an ``audience``), since there is no authorization request.
"""

from __future__ import annotations

from typing import Any

from oauthlib.oauth2 import BackendApplicationClient

from connectors.auth.base import AuthError, Credentials, ErrorKind, faults_are_transient
from connectors.auth.oauth2 import OAuth2, credentials_from_token, token_errors


class ClientCredentials(OAuth2):
    type = "oauth2_client_credentials"
    browser_flow = False
    refreshes = True

    def begin(self, attempt: Any) -> None:
        """No browser step (overrides the authorization code grant's redirect)."""
        return None

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        if not self.value("client_secret") and self.spec.auth.token_auth != "private_key_jwt":
            raise AuthError("The Client Secret is missing.", kind=ErrorKind.CONFIGURATION)
        session = self.oauth_session(BackendApplicationClient(self.client_id))
        extra: dict[str, Any] = {**self.authorize_params(),
                                 **self.filled(self.spec.auth.token_params)}
        if self.scope():
            extra["scope"] = self.scope()
        with token_errors():
            token = session.fetch_token(self.url(self.spec.auth.token_url),
                                        **self.client_auth(), **extra)
        credentials = credentials_from_token(dict(token))
        credentials.captured = self.captured(dict(token), {})
        return credentials

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        """Client credentials tokens are fetched anew rather than refreshed; a fault in the
        answer is transient like any refresh's."""
        with faults_are_transient():
            return self.complete(None, {})
