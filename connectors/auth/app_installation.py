"""App installation (GitHub Apps and the like): the customer installs the partner's app,
and Hatchway, signing as the app, buys short-lived installation tokens.

- Sign-in: the customer is sent to `install_url` with the attempt's `state`; the provider
  returns to the connector's Callback URL (the app's Setup URL) with `installation_id` and
  that `state`. The callback view claims the state (single use, bound to the browser
  session and install), then `complete` checks the id is a number and captures it into the
  install's `installation_id` value.
- Tokens: an app JWT (RS256, `iss` = the app id, `iat` 60 s in the past, `exp` 9 minutes
  ahead) signed with the partner's `private_key` is exchanged at `access_token_url` for an
  installation token, whose `expires_at` the answer gives. There is no refresh token:
  `refresh` exchanges again (the workers do it before expiry, under the refresh row lock).
- Refusals: 401 or 404 from the exchange mean the app was uninstalled (or its key revoked):
  reauthentication. 5xx, 429 and timeouts are transient: "Refresh failing".
- Revocation: `DELETE revoke_url` carrying the installation token, where declared.
- The installer, where declared: GitHub warns that the `installation_id` on the redirect can
  be spoofed and recommends a user token of the installer to check it. With
  `installer_token_url` and `installer_installations_url` (and the app's `client_id` and
  `client_secret`), the callback's `code` buys that token, and the installation must be
  among those it can access, or the sign-in is refused before any installation token.

Stored credentials (encrypted): ``{"access_token": <installation token>}``. The private
key and the app JWT are never stored with them, logged or put in an error.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any

import requests
from django.utils import timezone
from oauthlib.common import add_params_to_uri

from connectors import http
from connectors.auth.base import (
    AuthError,
    AuthMethod,
    Credentials,
    ErrorKind,
    InvalidCallback,
    InvalidGrant,
    faults_are_transient,
    outbound_errors,
    raise_if_unavailable,
)
from connectors.auth.keys import KeyProblem, load_private_key, sign
from connectors.auth.tokens import MAX_EXPIRES_IN, check_tokens, unknown_lifetime

security_log = logging.getLogger("hatchway.security")

# GitHub's rules for the app JWT: "iat ... 60 seconds in the past", "exp ... no more than 10
# minutes into the future", "iss ... the client ID or application ID", RS256:
# https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
JWT_BACKDATE = 60
JWT_LIFETIME = 9 * 60  # under the 10-minute maximum, so a slow clock is still accepted
INSTALLATION_ID_RE = re.compile(r"^[1-9][0-9]{0,19}$")
APP_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")  # the numeric app id, or a client id


class AppInstallation(AuthMethod):
    type = "app_installation"
    browser_flow = True
    refreshes = True
    shared_keys = ("access_token",)
    credential_label = "installation token"

    # --- sign-in -------------------------------------------------------------------------

    def begin(self, attempt: Any) -> str | None:
        """The install page, with the attempt's state (the provider hands it back)."""
        return add_params_to_uri(self.url(self.spec.auth.install_url), [("state", attempt.state)])

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        """The installation id from the callback (its state already claimed), then a token."""
        installation_id = params.get("installation_id", "")
        if not installation_id:
            if params.get("setup_action") == "request":
                raise AuthError("The installation is waiting for an organization owner's "
                                "approval at the provider; authenticate again once it is "
                                "approved.", kind=ErrorKind.PROVIDER_ERROR)
            raise InvalidCallback("The provider sent no installation id — restart the install.")
        if not INSTALLATION_ID_RE.match(installation_id):
            raise InvalidCallback("The provider sent an installation id that is not a number "
                                  "— restart the install.")
        self.check_installer(params.get("code", ""), int(installation_id))
        captured = self.captured({}, params)  # joins the values: the token URL uses it
        credentials = self.exchange()
        credentials.captured = captured
        return credentials

    def check_installer(self, code: str, installation_id: int) -> None:
        """Where declared, the installation must be one the installer's user token can
        access (GitHub: "Request user authorization (OAuth) during installation"):
        https://docs.github.com/en/apps/creating-github-apps/setting-up-a-github-app/about-the-setup-url
        The user token is used for this one request and not kept."""
        if not self.spec.auth.installer_installations_url:
            return
        if not code:
            raise InvalidCallback("The provider sent no authorization of the person who "
                                  "installed the app — restart the install.")
        if installation_id not in self.installer_installation_ids(self.installer_token(code)):
            security_log.warning("callback refused: the installation is not the installer's")
            raise InvalidCallback("That installation is not one the person who installed the "
                                  "app can access — restart the install.")

    def installer_token(self, code: str) -> str:
        """The installer's user token, bought with the callback's `code` and the app's
        OAuth client (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app)."""
        data = {"client_id": self.value("client_id"), "client_secret": self.value("client_secret"),
                "code": code}
        session = http.Session()
        with outbound_errors("The installer check"), session.secret_bearing():
            response = session.post(self.url(self.spec.auth.installer_token_url), data=data,
                                    headers={"Accept": "application/json"},
                                    allow_redirects=False)
        raise_if_unavailable(response, "The provider's sign-in is unavailable (HTTP {status}); "
                                       "try again later.")
        answer = self.json_object(response)
        token = answer.get("access_token") if answer else None
        if not isinstance(token, str) or not token or not 200 <= response.status_code < 300:
            raise AuthError("The provider did not confirm who installed the app, so sign-in "
                            "was stopped.", kind=ErrorKind.TOKEN_ERROR)
        return token

    def installer_installation_ids(self, user_token: str) -> set[int]:
        """The ids of the installations the installer's user token can access."""
        headers = {"Accept": "application/vnd.github+json", **self.api_headers,
                   "Authorization": f"Bearer {user_token}"}
        url = add_params_to_uri(self.url(self.spec.auth.installer_installations_url),
                                [("per_page", "100")])
        with outbound_errors("The installer check"):
            response = http.Session().get(url, headers=headers, allow_redirects=False)
        raise_if_unavailable(response, "The provider is unavailable (HTTP {status}); try "
                                       "again later.")
        answer = self.json_object(response) if response.status_code == 200 else None
        listed = answer.get("installations") if answer else None
        if not isinstance(listed, list):
            raise AuthError("The provider did not list the installer's installations, so "
                            "sign-in was stopped.", kind=ErrorKind.TOKEN_ERROR)
        return {item["id"] for item in listed
                if isinstance(item, dict) and type(item.get("id")) is int}

    @staticmethod
    def json_object(response: requests.Response) -> dict[str, Any] | None:
        try:
            answer = response.json()
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None

    # --- tokens --------------------------------------------------------------------------

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        """A new installation token; a refusal is `InvalidGrant`, any other fault transient."""
        if not INSTALLATION_ID_RE.match(self.value("installation_id")):
            raise InvalidGrant("The install has no installation id; reauthenticate it.")
        with faults_are_transient():
            return self.exchange()

    def app_jwt(self) -> str:
        """The app's JWT, signed with its private key. Never stored or logged."""
        app_id = self.value("app_id")
        if not APP_ID_RE.match(app_id):
            raise AuthError("The app ID is missing or malformed. Edit the Authentication "
                            "Settings.", kind=ErrorKind.CONFIGURATION)
        try:  # GitHub App JWTs are RS256: an RSA key of at least 2048 bits
            pem = load_private_key(self.value("private_key"), "RS256")
        except KeyProblem as problem:
            raise AuthError(f"{problem.message} Edit the Authentication Settings.",
                            kind=ErrorKind.CONFIGURATION) from None
        now = int(time.time())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": app_id}
        return sign({}, claims, pem, "RS256")

    def exchange(self) -> Credentials:
        """POST the app JWT to `access_token_url`; the installation token it answers."""
        headers = {"Accept": "application/vnd.github+json", **self.api_headers,
                   "Authorization": f"Bearer {self.app_jwt()}"}
        session = http.Session()
        with outbound_errors("The installation token request"), session.secret_bearing():
            response = session.post(self.url(self.spec.auth.access_token_url), headers=headers,
                                    allow_redirects=False)
        answer = self.answer(response)
        token = answer.get("token")
        if not isinstance(token, str) or not token:
            raise AuthError("The provider's answer had no installation token.",
                            kind=ErrorKind.TOKEN_ERROR)
        check_tokens({"access_token": token}, ("access_token",), "The provider's answer")
        return Credentials(data={"access_token": token}, expires_at=self.expiry(answer))

    def answer(self, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 404):  # the app was uninstalled, or its key or id is wrong
            raise InvalidGrant(f"The provider no longer accepts this app installation (HTTP "
                               f"{status}): the app may have been uninstalled. Reauthenticate "
                               "the install to install it again.")
        raise_if_unavailable(response, "The provider's token endpoint is unavailable "
                                       "(HTTP {status}); try again later.")
        if not 200 <= status < 300:
            raise AuthError(f"The provider refused the installation token request (HTTP "
                            f"{status}).", kind=ErrorKind.TOKEN_ERROR)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise AuthError("The provider's answer could not be read.",
                            kind=ErrorKind.TOKEN_ERROR)
        return answer

    def expiry(self, answer: dict[str, Any]) -> datetime:
        """`expires_at` (ISO 8601) when it is in the next year, else the catalogue's
        `default_expires_in` (GitHub's tokens last an hour), else a short unknown lifetime."""
        now = timezone.now()
        raw = answer.get("expires_at")
        try:
            when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None and (
                now < when <= now + timedelta(seconds=MAX_EXPIRES_IN)):
            return when
        return now + timedelta(seconds=unknown_lifetime(self.spec.auth.default_expires_in))

    # --- revocation and calls ------------------------------------------------------------

    def revoke(self, credentials: dict[str, Any]) -> None:
        """`DELETE revoke_url` with the installation token itself (GitHub's
        `DELETE /installation/token`). A 401 means it no longer works: nothing to revoke."""
        token = credentials.get("access_token")
        if not self.spec.auth.revoke_url or not token:
            return
        headers = {"Accept": "application/vnd.github+json", **self.api_headers,
                   "Authorization": f"Bearer {token}"}
        with outbound_errors("The revocation request"):
            response = http.Session().request("DELETE", self.url(self.spec.auth.revoke_url),
                                              headers=headers, allow_redirects=False)
        if response.status_code == 401:
            return
        raise_if_unavailable(response, "The provider's revocation endpoint is unavailable "
                                       "(HTTP {status}).")
        if response.status_code >= 300:
            raise AuthError(f"The provider refused the revocation (HTTP {response.status_code}).",
                            kind=ErrorKind.REVOKE_FAILED)

    def revocation_credentials(self, credentials: dict[str, Any]) -> dict[str, Any]:
        token = credentials.get("access_token")
        return {"access_token": token} if token else {}

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        session = http.Session()
        session.headers["Authorization"] = f"Bearer {credentials.get('access_token', '')}"
        return session
