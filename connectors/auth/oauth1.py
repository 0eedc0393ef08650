"""OAuth 1.0a (RFC 5849): request token, authorize redirect, access token exchange.

Credentials stored on the install (encrypted): ``oauth_token`` and ``oauth_token_secret``.
Other non-secret fields of the access token response (a user id, a screen name) are
returned as ``Credentials.info``. During the flow the request token is kept on the
attempt (public) and its secret in the attempt's encrypted ``secrets``; the services
delete those secrets when the callback is used, whatever the outcome.

One callback URL serves every connector, so the attempt's state rides on it:
``oauth_callback = <PUBLIC_URL>/connectors/callback?state=<state>``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from requests_oauthlib.oauth1_session import TokenMissing, TokenRequestDenied, VerifierMissing

from connectors import http
from connectors.auth.base import (
    ALREADY_MAPPED,
    AuthError,
    AuthMethod,
    ConsentDenied,
    Credentials,
    ErrorKind,
    InvalidCallback,
    outbound_errors,
    raise_if_unavailable,
)
from connectors.auth.tokens import check_tokens, public_info


@contextmanager
def token_errors(what: str) -> Iterator[None]:
    """Map requests-oauthlib's OAuth 1 exceptions (whose messages quote the response)."""
    with outbound_errors(what):
        try:
            yield
        except ALREADY_MAPPED:
            raise
        except TokenRequestDenied as exc:
            raise_if_unavailable(exc.response,
                                 what + " failed: the provider is unavailable (HTTP {status}).")
            raise AuthError(f"{what} was refused by the provider (HTTP {exc.status_code}).",
                            kind=ErrorKind.TOKEN_ERROR) from None
        except (TokenMissing, VerifierMissing):
            raise AuthError(f"{what} returned no token.", kind=ErrorKind.TOKEN_ERROR) from None
        except ValueError:  # an unreadable (non form-encoded) response
            raise AuthError(f"{what} returned a response that could not be read.",
                            kind=ErrorKind.TOKEN_ERROR) from None


class OAuth1(AuthMethod):
    type = "oauth1"
    shared_keys = ("oauth_token", "oauth_token_secret")
    browser_flow = True
    credential_label = "access token"

    def _session(self, **kwargs: Any) -> http.OAuth1:
        """Signed with the catalogue's `signature_method` (HMAC-SHA1 by default) and realm."""
        return http.OAuth1(self.value("consumer_key"),
                           client_secret=self.value("consumer_secret"),
                           signature_method=self.spec.auth.signature_method,
                           realm=self.realm() or None, **kwargs)

    def realm(self) -> str:
        return self.filled({"realm": self.spec.auth.realm})["realm"] if self.spec.auth.realm \
            else ""

    def begin(self, attempt: Any) -> str:
        callback = f"{self.context.callback_url}?{urlencode({'state': attempt.state})}"
        session = self._session(callback_uri=callback)
        with token_errors("The request token request"):
            # requests-oauthlib resets the realm here unless it is given again.
            token = session.fetch_request_token(self.url(self.spec.auth.request_token_url),
                                                realm=[self.realm()] if self.realm() else None)
        # RFC 5849 §2.1: without the confirmation the provider did not take our callback.
        # The RFC says "true"; Authlib-based providers answer "True".
        if str(token.get("oauth_callback_confirmed", "")).lower() != "true":
            raise AuthError("The provider did not confirm the callback URL "
                            "(oauth_callback_confirmed), so sign-in was stopped.",
                            kind=ErrorKind.TOKEN_ERROR)
        if not token.get("oauth_token_secret"):
            raise AuthError("The request token request returned no token.",
                            kind=ErrorKind.TOKEN_ERROR)
        attempt.request_token = token["oauth_token"]
        attempt.secrets = {"request_token_secret": token["oauth_token_secret"]}
        params = self.authorize_params()
        scope = self.scope()
        if scope and "scope" not in params:
            params["scope"] = scope
        return session.authorization_url(self.url(self.spec.auth.authorize_url), **params)

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        if "denied" in params:
            raise ConsentDenied()
        oauth_token = params.get("oauth_token", "")
        if not oauth_token or not hmac.compare_digest(oauth_token.encode(),
                                                      attempt.request_token.encode()):
            raise InvalidCallback("The provider's answer does not belong to this sign-in — "
                                  "restart the install.")
        verifier = params.get("oauth_verifier")
        if not verifier:
            raise InvalidCallback("The provider's answer has no oauth_verifier — "
                                  "restart the install.")
        secret = (attempt.secrets or {}).get("request_token_secret")
        if not secret:
            raise InvalidCallback("This sign-in link is no longer valid — restart the install.")
        session = self._session(resource_owner_key=oauth_token, resource_owner_secret=secret,
                                verifier=verifier)
        with token_errors("The access token request"):
            token = session.fetch_access_token(self.url(self.spec.auth.access_token_url))
        if not token.get("oauth_token") or not token.get("oauth_token_secret"):
            raise AuthError("The access token request returned no token.",
                            kind=ErrorKind.TOKEN_ERROR)
        check_tokens(token, ("oauth_token", "oauth_token_secret"), "The access token response")
        data = {"oauth_token": token["oauth_token"],
                "oauth_token_secret": token["oauth_token_secret"]}
        return Credentials(data=data, info=public_info(token),
                           captured=self.captured(dict(token), params))

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        return self._session(resource_owner_key=credentials.get("oauth_token", ""),
                             resource_owner_secret=credentials.get("oauth_token_secret", ""))
