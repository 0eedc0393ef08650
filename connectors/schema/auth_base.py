"""The `[auth]` keys shared by the auth modes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from connectors.schema.base import (
    _TEXT,
    ERROR_CODE_RE,
    LAX,
    AuthType,
    BodyFormat,
    Dotted,
    Params,
    ScopeToken,
    TokenAuth,
    TokenHeader,
    TokenPrefix,
    Url,
    _Model,
)
from connectors.schema.fields import OptionalScope
from connectors.schema.two_step import TokenRequest


class AuthBase(_Model):
    """The keys of `[auth]` every mode shares (or that sit with them); the modes' own keys
    and rules are mixins composed into AuthSpec (connectors/schema/auth.py)."""

    type: AuthType
    """The auth method (connectors/auth/): it decides which other keys apply."""
    request_token_url: Url = ""
    authorize_url: Url = ""
    access_token_url: Url = ""
    token_url: Url = ""
    refresh_url: Url = ""
    revoke_url: Url = ""
    scopes: Annotated[tuple[ScopeToken, ...], LAX] = ()
    """The default scopes: what a sign-in requests unless the partner or install chose."""
    optional_scopes: Annotated[tuple[OptionalScope, ...], LAX] = ()
    """Further scopes offered as checkboxes in Authentication Settings (oauth2 and client
    credentials only)."""
    scope_separator: str = " "
    pkce: bool = True
    token_auth: TokenAuth = "client_secret_post"
    authorize_params: Params = Field(default_factory=dict)
    header: str = ""
    prefix: str = ""
    query_param: str = ""
    token_params: Params = Field(default_factory=dict)
    refresh_params: Params = Field(default_factory=dict)
    body_format: BodyFormat = "form"
    revoke_auth: TokenAuth | None = None
    revoke_method: Literal["POST", "DELETE"] = "POST"
    revoke_body_format: BodyFormat | None = None
    default_expires_in: Annotated[int, Field(ge=60, le=366 * 86400)] = 0
    access_token_path: Dotted = ""
    token_type: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,30}$")] = ""
    invalid_grant_errors: Annotated[
        tuple[Annotated[str, StringConstraints(pattern=ERROR_CODE_RE.pattern)], ...], LAX] = ()
    """Error codes that, like `invalid_grant`, say the grant itself is gone (RFC 6749 §5.2):
    only these ask the customer to consent again; any other failed refresh is retried."""
    signature_method: Literal["HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT"] = "HMAC-SHA1"
    realm: Annotated[str, StringConstraints(max_length=200), _TEXT] = ""
    token_request: TokenRequest = Field(default_factory=TokenRequest)
    token_path: Dotted = ""
    """two_step: the dotted path of the token in the exchange's JSON answer."""
    expires_in_path: Dotted = ""
    """two_step: the dotted path of its lifetime in seconds (else `default_expires_in`)."""
    token_header: TokenHeader = "Authorization"
    """two_step, jwt: the header API calls carry the token in."""
    token_prefix: TokenPrefix = "Bearer "
    """two_step, jwt: put before the token in that header ("" for none)."""
    captures: dict[str, Dotted] = Field(default_factory=dict)
    """two_step: captured field key -> dotted path of its value in the exchange's answer
    (the field needs no `from`)."""
    install_url: Url = ""
    """app_installation: where the customer installs the partner's app
    (`https://github.com/apps/{app_slug}/installations/new`); `state` is added."""
    installer_token_url: Url = ""
    """app_installation, optional: where the callback's `code` (the installer's
    authorization) buys a user token, to check the installation is theirs."""
    installer_installations_url: Url = ""
    """app_installation, with `installer_token_url`: lists the installations that user
    token can access (`{"installations": [{"id": …}]}`)."""
    issuer: Url = ""
    """The authorization server's issuer identifier: a callback's `iss` must equal it
    (RFC 9207; the mix-up defence, RFC 9700 §4.4). oauth2 without `authorize_url` and
    `token_url`: the endpoints come from its RFC 8414 / OpenID Connect metadata."""

    @property
    def effective_refresh_url(self) -> str:
        return self.refresh_url or self.token_url

    @property
    def effective_revoke_auth(self) -> str:
        return self.revoke_auth or self.token_auth

    @property
    def effective_revoke_body_format(self) -> str:
        return self.revoke_body_format or self.body_format
