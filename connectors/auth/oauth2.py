"""OAuth 2.0 authorization code grant (RFC 6749 §4.1) with PKCE S256 (RFC 7636).

Credentials stored on the install (encrypted): ``access_token``, ``refresh_token`` (when
issued), ``token_type`` and ``scope`` (the granted scope, space separated). Non-secret
token metadata -- granted scope, Salesforce's ``instance_url``, QuickBooks' ``realmId``
from the callback -- is returned as ``Credentials.info``, which the services keep in
``Install.token_info`` so pages can show it without decrypting anything.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import requests
from oauthlib.oauth2 import (
    InvalidGrantError,
    MissingTokenError,
    OAuth2Error,
    TokenExpiredError,
    WebApplicationClient,
)
from oauthlib.oauth2.rfc6749.clients.base import Client as OAuthlibClient

from connectors import http
from connectors.auth import client_assertion
from connectors.auth.base import (
    ALREADY_MAPPED,
    AuthError,
    AuthMethod,
    ConsentDenied,
    Credentials,
    ErrorKind,
    InvalidCallback,
    InvalidGrant,
    TransientError,
    dotted_get,
    faults_are_transient,
    outbound_errors,
    raise_if_unavailable,
    safe_error_code,
)
from connectors.auth.tokens import (
    check_tokens,
    expiry,
    keep_unreturned,
    public_info,
    sane_expires_in,
    unknown_lifetime,
)
from connectors.schema import KEY_ID_FIELD, AuthSpec

security_log = logging.getLogger("hatchway.security")

# Callback parameters some providers add that are worth keeping (non-secret).
CALLBACK_INFO_KEYS = ("realmId", "shop", "location", "accounts-server")
RETRYABLE_ERRORS = ("temporarily_unavailable", "server_error")
# Keys lifted from the object `access_token_path` points into (Slack's `authed_user`).
TOKEN_OBJECT_KEYS = ("refresh_token", "expires_in", "scope", "token_type")


class InvalidClient(AuthError):
    """The token endpoint refused the client itself (RFC 6749 §5.2 `invalid_client`)."""


def check_token_response(response: requests.Response, auth: AuthSpec) -> requests.Response:
    """Classify a token endpoint's answer before oauthlib parses the body.

    Only an OAuth error saying the grant is invalid (`invalid_grant`, RFC 6749 §5.2, or a
    code the catalogue's `invalid_grant_errors` declares) is `InvalidGrant`; 5xx and 429
    are transient; other refusals and anything but a 2xx (a redirect) are token errors,
    which a refresh treats as transient faults (`faults_are_transient`).
    """
    raise_if_unavailable(response, "The provider's token endpoint is unavailable "
                                   "(HTTP {status}); try again later.")
    status = response.status_code
    code = _error_code(response)
    if code == "invalid_client":
        raise InvalidClient("The provider no longer accepts this client (invalid_client).",
                            kind=ErrorKind.TOKEN_ERROR)
    if code == "invalid_grant" or code and code in auth.invalid_grant_errors:
        raise InvalidGrant(f"The provider rejected the authorisation ({code}); "
                           "reauthenticate the install.")
    if status >= 400:
        raise AuthError(f"The provider refused the token request ({code or f'HTTP {status}'}).",
                        kind=ErrorKind.TOKEN_ERROR)
    if not 200 <= status < 300:
        raise AuthError(f"The token endpoint answered HTTP {status} instead of a token.",
                        kind=ErrorKind.TOKEN_ERROR)
    return response


def normalized_token_response(response: requests.Response, auth: AuthSpec) -> requests.Response:
    """Rewrite a successful JSON token response into the shape oauthlib reads
    (`normalized_token`); any other body is left for oauthlib to refuse."""
    try:
        body = response.json()
    except ValueError:
        return response
    if not isinstance(body, dict):
        return response
    response._content = json.dumps(normalized_token(body, auth)).encode()
    response.encoding = "utf-8"
    return response


def normalized_token(body: dict[str, Any], auth: AuthSpec) -> dict[str, Any]:
    """`access_token_path` moves a nested token (and its sibling refresh token, expiry,
    scope and type) to the top, `token_type` replaces the provider's word ("bot"), and
    `default_expires_in` stands in for a missing `expires_in` so the token gets an expiry
    and the refresh workers pick it up. An `expires_in` that makes no sense (≤ 0, over a
    year, not a number) is unknown: `unknown_lifetime` stands in, so the token is
    refreshed soon rather than never.
    """
    nested = dotted_get(body, auth.access_token_path) if auth.access_token_path else None
    if isinstance(nested, str) and nested:
        parent_path = auth.access_token_path.rpartition(".")[0]
        parent = dotted_get(body, parent_path) if parent_path else body
        lifted = {key: parent[key] for key in TOKEN_OBJECT_KEYS
                  if isinstance(parent, dict) and key in parent}
        body = {**body, **lifted, "access_token": nested}
    if auth.token_type and body.get("access_token"):
        body["token_type"] = auth.token_type
    expires_in = body.pop("expires_in", None)
    if expires_in not in (None, ""):
        body["expires_in"] = sane_expires_in(expires_in) or unknown_lifetime(
            auth.default_expires_in)
    elif auth.default_expires_in:
        body["expires_in"] = auth.default_expires_in
    return body


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return safe_error_code(body.get("error")) if isinstance(body, dict) else ""


@contextmanager
def token_errors(what: str = "The token request") -> Iterator[None]:
    """Map oauthlib's and requests' exceptions from a token request to AuthErrors."""
    with outbound_errors(what):
        try:
            yield
        except ALREADY_MAPPED:
            raise
        except InvalidGrantError:
            raise InvalidGrant("The provider rejected the authorisation (invalid_grant); "
                               "reauthenticate the install.") from None
        except MissingTokenError:
            raise AuthError("The provider's token response had no access token.",
                            kind=ErrorKind.TOKEN_ERROR) from None
        except TokenExpiredError:
            raise AuthError("The access token has expired.", kind=ErrorKind.TOKEN_ERROR) from None
        except OAuth2Error as exc:
            code = safe_error_code(exc.error) or "error"
            raise AuthError(f"The provider refused the token request ({code}).",
                            kind=ErrorKind.TOKEN_ERROR) from None
        except ValueError:  # unreadable JSON, an unexpected expires_in, an odd token type
            raise AuthError("The provider's token response could not be read.",
                            kind=ErrorKind.TOKEN_ERROR) from None


def credentials_from_token(token: dict[str, Any], *, previous: dict[str, Any] | None = None,
                           extra_info: dict[str, Any] | None = None) -> Credentials:
    """Credentials from a token response; a response without a refresh token keeps the old.

    Checked before anything is stored: tokens bounded and free of control characters, and
    a token type the sessions can use (a bearer token; the catalogue's `token_type` names
    a provider's own word for one).
    """
    check_tokens(token, ("access_token", "refresh_token"), "The provider's token response")
    token_type = token.get("token_type") or "Bearer"
    if not isinstance(token_type, str) or token_type.strip().lower() != "bearer":
        raise AuthError("The provider's token response had a token type this connector "
                        "cannot use, so nothing was stored.", kind=ErrorKind.TOKEN_ERROR)
    scope = token.get("scope")
    scope = " ".join(scope) if isinstance(scope, list | tuple) else (scope or "")
    data = keep_unreturned(previous or {}, {
        "access_token": token["access_token"],
        "token_type": token_type.strip(),
        "refresh_token": token.get("refresh_token") or "",
        "scope": scope,
    })
    info = public_info(token, skip=("expires_in", "expires_at", "scope"))
    info.update(extra_info or {})
    if data["scope"]:
        info["scope"] = data["scope"]
    return Credentials(data={k: v for k, v in data.items() if v}, expires_at=expiry(
        token.get("expires_in")), info=info)


class OAuth2(AuthMethod):
    type = "oauth2"
    shared_keys = ("access_token", "token_type", "scope")
    browser_flow = True
    credential_label = "access token"

    def can_refresh(self, credentials: Mapping[str, Any]) -> bool:
        """With a refresh token (or, for client credentials, always: `refreshes`)."""
        return self.refreshes or bool(credentials.get("refresh_token"))

    # --- the pieces both OAuth 2.0 grants share -------------------------------------------

    @property
    def client_id(self) -> str:
        return self.resolved.get("client_id") or self.value("client_id")

    @property
    def client_secret(self) -> str:
        return self.resolved.get("client_secret") or self.value("client_secret")

    # --- discovery and dynamic registration (connectors/dynamic.py resolves) ---------------

    @cached_property
    def resolved(self) -> dict[str, str]:
        """What discovery found (endpoints, issuer, registered client); {} without."""
        return self.context.discover(False) if self.context.discover else {}

    def endpoint(self, key: str) -> str:
        """authorize_url, token_url, refresh_url or revoke_url: the discovered one, else
        the catalogue's with its placeholders filled ('' when there is none)."""
        if self.context.discover:
            return self.resolved.get(key) or (
                self.resolved.get("token_url", "") if key == "refresh_url" else "")
        template = (self.spec.auth.effective_refresh_url if key == "refresh_url"
                    else getattr(self.spec.auth, key))
        return self.url(template) if template else ""

    @property
    def base_url(self) -> str:
        """An MCP server's API is the server URL the customer entered (RFC 9728 resource)."""
        if self.spec.auth.server_url:
            return self.url(self.spec.auth.server_url).rstrip("/")
        server_field = self.spec.server_url_field
        if server_field is not None:
            return self.value(server_field.key).rstrip("/")
        return super().base_url

    @property
    def offers_revocation(self) -> bool:
        if self.context.discover:
            return bool(self.endpoint("revoke_url"))
        return super().offers_revocation

    @property
    def token_auth(self) -> str:
        return self.resolved.get("token_auth") or self.spec.auth.token_auth

    def resource_params(self) -> dict[str, str]:
        """RFC 8707: the resource the token is for (an MCP server), where there is one."""
        resource = self.resolved.get("resource") if self.context.discover else None
        return {"resource": resource} if resource else {}

    @contextmanager
    def client_refusals(self) -> Iterator[None]:
        """A dynamically registered client the server no longer knows is registered again
        (once, on this refusal); the grant it held is gone with it: sign in again."""
        try:
            yield
        except InvalidClient:
            if not (self.context.discover and self.resolved.get("client_id")
                    and self.spec.auth.registration == "dynamic"):
                raise
            self.context.discover(True)
            raise InvalidGrant("The authorization server no longer knew this server's "
                               "client, so a new one was registered; sign in again.") from None

    def oauth_session(self, client: OAuthlibClient | None = None, **kwargs: Any) -> http.OAuth2:
        session = http.OAuth2(client=client or WebApplicationClient(self.client_id), **kwargs)
        session.json_bodies = self.spec.auth.body_format == "json"

        def hook(response: requests.Response) -> requests.Response:
            checked = check_token_response(response, self.spec.auth)
            return normalized_token_response(checked, self.spec.auth)

        session.register_compliance_hook("access_token_response", hook)
        session.register_compliance_hook("refresh_token_response", hook)
        session.headers.update(self.token_headers)  # on the token and refresh requests
        return session

    @property
    def token_headers(self) -> dict[str, str]:
        """The catalogue's `[auth] token_headers`, filled like `[api] headers`."""
        return {name: self.header_value(name, template)
                for name, template in self.spec.auth.token_headers.items()}

    def basic_auth(self, token_auth: str = "") -> requests.auth.HTTPBasicAuth | None:
        """HTTP Basic client authentication, when `token_auth` (by default the catalogue's)
        asks for it and there is a secret."""
        secret = self.client_secret
        if (token_auth or self.token_auth) == "client_secret_basic" and secret:
            return requests.auth.HTTPBasicAuth(self.client_id, secret)
        return None

    @property
    def names_client_in_body(self) -> bool:
        """A dynamically registered client names itself in the body even with HTTP Basic.
        RFC 6749 §2.3.1 does not forbid it, and the MCP SDKs' authorization servers (those
        an MCP server found by discovery is usually built on) require `client_id` in the
        form whatever the client authentication: tests/interop/test_mcp_sdk.py."""
        return bool(self.context.discover and self.resolved.get("client_id"))

    def client_params(self, token_auth: str = "") -> dict[str, str]:
        """The client's id (and secret) as body parameters: client_secret_post, or a public
        client (PKCE, no secret), or a new client assertion (private_key_jwt). With HTTP
        Basic, the id alone for a registered client (`names_client_in_body`), else none."""
        if self.basic_auth(token_auth):
            return {"client_id": self.client_id} if self.names_client_in_body else {}
        if (token_auth or self.token_auth) == "private_key_jwt":
            return self.assertion_params()
        secret = self.client_secret
        return {"client_id": self.client_id, **({"client_secret": secret} if secret else {})}

    def client_auth(self) -> dict[str, Any]:
        """`fetch_token` keyword arguments authenticating the client per `token_auth`."""
        auth = self.basic_auth()
        if auth:
            return {"auth": auth, "include_client_id": self.names_client_in_body}
        if self.token_auth == "private_key_jwt":  # client_id: include_client_id
            params = self.assertion_params()
            del params["client_id"]
            return {"include_client_id": True, **params}
        return {"include_client_id": True, "client_secret": self.client_secret or None}

    def assertion_params(self) -> dict[str, str]:
        """private_key_jwt (RFC 7523 §2.2): a new client assertion for the token endpoint."""
        return client_assertion.assertion_params(
            client_id=self.client_id, audience=self.endpoint("token_url"),
            pem=self.value(client_assertion.KEY_FIELD),
            key_id=self.value(KEY_ID_FIELD))

    # --- the contract -----------------------------------------------------------------------

    def begin(self, attempt: Any) -> str | None:
        session = self.oauth_session(redirect_uri=self.context.callback_url, scope=self.scope())
        params = {**self.authorize_params(), **self.resource_params()}
        if self.spec.auth.pkce or self.context.discover:
            client = WebApplicationClient(self.client_id)
            verifier = client.create_code_verifier(64)
            params["code_challenge"] = client.create_code_challenge(verifier, "S256")
            params["code_challenge_method"] = "S256"
            # The verifier stays server-side, encrypted on the attempt.
            attempt.secrets = {"code_verifier": verifier}
        url, _state = session.authorization_url(self.endpoint("authorize_url"),
                                                state=attempt.state, **params)
        return url

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        self.check_issuer(params)
        if params.get("error"):
            raise callback_error(params)
        code = params.get("code")
        if not code:
            raise InvalidCallback("The provider sent no authorisation code.")
        pkce = self.spec.auth.pkce or bool(self.context.discover)
        verifier = (attempt.secrets or {}).get("code_verifier") if pkce else None
        if pkce and not verifier:
            raise InvalidCallback("This sign-in link is no longer valid — restart the install.")
        session = self.oauth_session(redirect_uri=self.context.callback_url)
        extra = {**self.filled(self.spec.auth.token_params), **self.resource_params()}
        if verifier:
            extra["code_verifier"] = verifier
        with self.client_refusals(), token_errors():
            token = session.fetch_token(self.endpoint("token_url"), code=code,
                                        **self.client_auth(), **extra)
        info = {key: params[key] for key in CALLBACK_INFO_KEYS if params.get(key)}
        credentials = credentials_from_token(dict(token), extra_info=info)
        credentials.captured = self.captured(dict(token), params)
        return credentials

    def check_issuer(self, params: dict[str, str]) -> None:
        """RFC 9207: an answer naming its issuer (`iss`, also on errors) must name this
        connector's, when the catalogue declares it -- else it came from another
        authorization server (the mix-up attack) and no token request is made."""
        issuer = self.resolved.get("issuer") or (
            self.url(self.spec.auth.issuer) if self.spec.auth.issuer else "")
        if "iss" not in params and self.resolved.get("iss_required"):
            # RFC 9207 §2.4: a server that says it sends `iss` always sends it.
            security_log.warning("callback refused: no iss from a server that sends it")
            raise InvalidCallback("The answer did not name its authorization server, which "
                                  "this one always does — restart the install.")
        if "iss" not in params or not issuer:
            return
        if not hmac.compare_digest(params["iss"].encode(), issuer.encode()):
            security_log.warning("callback refused: iss is not the connector's issuer")
            raise InvalidCallback("The answer came from another authorization server than "
                                  "this connector's — restart the install.")

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        refresh_token = credentials.get("refresh_token")
        if not refresh_token:
            raise InvalidGrant("There is no refresh token; reauthenticate the install.")
        session = self.oauth_session()
        with faults_are_transient():
            with self.client_refusals(), token_errors("The token refresh"):
                token = session.refresh_token(self.endpoint("refresh_url"),
                                              refresh_token=refresh_token,
                                              auth=self.basic_auth(), **self.client_params(),
                                              **self.filled(self.spec.auth.refresh_params),
                                              **self.resource_params())
            return credentials_from_token(dict(token), previous=credentials)

    def revoke(self, credentials: dict[str, Any]) -> None:
        """RFC 7009: revoke the refresh token (ending the grant), else the access token."""
        revoke_url = self.endpoint("revoke_url")
        if not revoke_url:
            return
        wanted = self.revocation_credentials(credentials)
        if not wanted:
            return
        hint, token = next(iter(wanted.items()))
        auth = self.spec.auth
        revoke_auth = auth.revoke_auth or self.token_auth
        data = {"token": token, "token_type_hint": hint, **self.client_params(revoke_auth)}
        as_json = auth.effective_revoke_body_format == "json"
        with outbound_errors("The revocation request"):
            # The [api] headers too: some revocation endpoints are API calls (Notion-Version).
            response = http.Session().request(
                auth.revoke_method, revoke_url, data=None if as_json else data,
                json=data if as_json else None,
                headers={**self.api_headers, **self.token_headers},
                auth=self.basic_auth(revoke_auth), allow_redirects=False)
        raise_if_unavailable(response, "The provider's revocation endpoint is unavailable "
                                       "(HTTP {status}).")
        if response.status_code >= 300:
            raise AuthError(f"The provider refused the revocation (HTTP {response.status_code}).",
                            kind=ErrorKind.REVOKE_FAILED)

    def revocation_credentials(self, credentials: dict[str, Any]) -> dict[str, Any]:
        """The one token `revoke` sends: the refresh token if any (it ends the grant)."""
        hint = "refresh_token" if credentials.get("refresh_token") else "access_token"
        return {hint: credentials[hint]} if credentials.get(hint) else {}

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        api = self.spec.api
        token = credentials.get("access_token", "")
        token_type = self.spec.auth.token_type or credentials.get("token_type") or "Bearer"
        if api.sends_token_its_own_way or token_type.lower() == "bearer":
            # The header set once: the catalogue's own (Zoho's "Authorization:
            # Zoho-oauthtoken …"), or by default `Authorization: Bearer`, what oauthlib would
            # add to each request (RFC 6750 §2.1) -- 1 % fewer instructions per proxied call
            # (docs/benchmarks.md, "Hot paths near their floor"). http:// is refused by the
            # guarded session as by oauthlib, unless local providers are allowed.
            session = http.Session()
            session.headers[api.token_header] = f"{api.token_prefix}{token}"
            return session
        # Another token type: oauthlib's (which refuses the ones it does not support).
        return http.OAuth2(client_id=self.value("client_id"),
                           token={"access_token": token, "token_type": token_type})


def callback_error(params: dict[str, str]) -> AuthError:
    """The error a provider reported on the callback, as a safe AuthError."""
    code = safe_error_code(params.get("error")) or "error"
    if code == "access_denied":
        return ConsentDenied()
    description = (params.get("error_description") or "").strip()[:200]
    message = f"The provider reported an error ({code})"
    message += f": {description}" if description else "."
    if code in RETRYABLE_ERRORS:
        return TransientError(message, kind=ErrorKind.PROVIDER_ERROR)
    return AuthError(message, kind=ErrorKind.PROVIDER_ERROR)
