"""The shape every authentication method shares, and the errors they raise.

A method is a small class found through the explicit registry in
`connectors/auth/__init__.py`. It gets everything it needs from a `Context`: the
connector's spec, the merged field values (partner settings, then values entered at
install), the install, and the callback URL. It never writes to the database itself;
services in `accounts/services.py` do, in one transaction with an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from accounts.models import AuthAttempt, Install
    from connectors.spec import ConnectorSpec


class AuthError(Exception):
    """An authentication problem with a message that is safe to show a person.

    `kind` is a short machine word for audit events and tests ("denied", "token_error",
    "timeout", "unavailable", "invalid_grant", "invalid_callback", "configuration",
    "verify_failed"). Messages never contain a secret, code or token.
    """

    kind = "error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind


class InvalidCallback(AuthError):
    """The callback request itself is wrong (state, token mismatch, missing verifier): 400."""

    kind = "invalid_callback"


class ConsentDenied(AuthError):
    """The person cancelled at the provider."""

    kind = "denied"


class TransientError(AuthError):
    """5xx, 429, timeouts, connection errors: try again later; credentials stay as they are."""

    kind = "unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidGrant(AuthError):
    """The provider rejected the grant or refresh token (400/401, invalid_grant)."""

    kind = "invalid_grant"


@dataclass
class Credentials:
    """What authentication produced, to be stored encrypted on the install."""

    data: dict[str, Any]
    expires_at: datetime | None = None
    # Non-secret facts worth showing (granted scopes, instance URL, account name).
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    spec: ConnectorSpec
    values: dict[str, str]
    install: Install | None = None
    callback_url: str = ""


class AuthMethod:
    """Base class. Subclasses set `type` and override what their protocol supports."""

    type: str = ""
    #: True when authentication needs a browser redirect to the provider.
    browser_flow: bool = False
    #: True when access tokens expire and `refresh` can renew them.
    can_refresh: bool = False

    def __init__(self, context: Context) -> None:
        self.context = context
        self.spec = context.spec

    def begin(self, attempt: AuthAttempt) -> str | None:
        """Start authentication. Return the provider URL to redirect to, or None."""
        return None

    def complete(self, attempt: AuthAttempt | None, params: dict[str, str]) -> Credentials:
        """Finish authentication from callback params (or entered values); return credentials."""
        raise NotImplementedError

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        """Renew the access token. Raises InvalidGrant or TransientError."""
        raise AuthError("This connector's credentials cannot be refreshed.", kind="configuration")

    def revoke(self, credentials: dict[str, Any]) -> None:
        """Revoke at the provider where it offers revocation (RFC 7009). Raises TransientError."""

    def session(self, credentials: dict[str, Any]) -> requests.Session:
        """An authorised session for verify calls and callers."""
        raise NotImplementedError
