"""The shape every authentication method shares, and the errors they raise.

A method is a small class, one module each, found through the explicit registry in
`connectors/auth/__init__.py`; its class attributes (`browser_flow`, `can_refresh`,
`credential_keys`, `credential_label` ...) do most of the work. It gets everything else
from a `Context`: the connector's spec, the merged field values (partner settings, then
values entered at install) and the callback URL. It never sees an install.

- `begin(attempt)` returns the provider URL to redirect to (browser flows); it may fill
  in the attempt it is given (request token, PKCE verifier) for the service to save;
- `complete(attempt, params)` returns `Credentials` from the callback parameters -- or,
  without a browser step, from the entered values;
- `verify(credentials)` runs the catalogue's `[api] verify` request;
- `refresh(credentials)` and `revoke(credentials)` where the protocol has them;
- `session(credentials)` returns an authorised session from `connectors.http`, carrying the
  catalogue's `[api] headers` (methods build it in `open_session`);
- `captured(token, params)` reads the `level = "captured"` values out of a token response
  or a callback, checked against their patterns, for `complete` to return.

A method never touches the database: the services in `installs/` do, in one
transaction with an audit event. Failures are raised as `AuthError`s whose messages are
safe to show.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import requests
from django.utils import timezone
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error

from connectors import http
from connectors.http import ProtocolError, RedirectRefused, UnsafeURL
from connectors.schema import ERROR_CODE_RE, HEADER_CONTROL_RE, PLACEHOLDER_RE
from connectors.templating import TemplateValueError, is_safe_value, matches_pattern, render_url

if TYPE_CHECKING:
    from connectors.schema import ConnectorSpec, FieldSpec


def dotted_get(data: Any, path: str) -> Any:
    """`data["a"]["b"]` for the path "a.b"; None where the path does not lead anywhere."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data

log = logging.getLogger("hatchway.auth")


class ErrorKind(StrEnum):
    """What went wrong, in one machine word: the `kind` of an AuthError and of the audit
    events that record a failure, and the partner API's problem `code` when the provider
    refuses (the values are a contract: webhook consumers and API clients read them)."""

    ERROR = "error"
    DENIED = "denied"
    TOKEN_ERROR = "token_error"
    PROVIDER_ERROR = "provider_error"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    INVALID_GRANT = "invalid_grant"
    INVALID_CALLBACK = "invalid_callback"
    CONFIGURATION = "configuration"
    VERIFY_FAILED = "verify_failed"
    REVOKE_FAILED = "revoke_failed"
    MISSING_VALUES = "missing_values"
    # Recorded by the workers without an AuthError:
    EXPIRED = "expired"  # the token expired and cannot be refreshed
    CREDENTIALS_UNREADABLE = "credentials_unreadable"  # no configured key decrypts them
    NOT_SUPPORTED = "not_supported"  # the connector no longer offers revocation
    GAVE_UP = "gave_up"  # a pending revocation ran out of attempts


class AuthError(Exception):
    """An authentication problem with a message that is safe to show a person.

    `kind` (an `ErrorKind`) names it for audit events, the API and tests. Messages never
    contain a secret, code or token.
    """

    kind: ErrorKind = ErrorKind.ERROR

    def __init__(self, message: str, *, kind: ErrorKind | None = None) -> None:
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind


class InvalidCallback(AuthError):
    """The callback request itself is wrong (state, token mismatch, missing verifier): 400."""

    kind = ErrorKind.INVALID_CALLBACK


class ConsentDenied(AuthError):
    """The person cancelled at the provider."""

    kind = ErrorKind.DENIED

    def __init__(self, message: str = "You cancelled the sign-in at the provider.") -> None:
        super().__init__(message)


class TransientError(AuthError):
    """5xx, 429, timeouts, connection errors: try again later; credentials stay as they are."""

    kind = ErrorKind.UNAVAILABLE

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidGrant(AuthError):
    """The provider rejected the grant or refresh token (400/401, invalid_grant)."""

    kind = ErrorKind.INVALID_GRANT


@dataclass
class Credentials:
    """What authentication produced, to be stored encrypted on the install."""

    data: dict[str, Any]
    expires_at: datetime | None = None
    # Non-secret facts worth showing (granted scopes, instance URL, account name).
    info: dict[str, Any] = field(default_factory=dict)
    # The connector's `level = "captured"` values by field key, each matching its pattern:
    # the services store them with the install's values (URLs use them as `{key}`).
    captured: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    """What a method is configured with: the connector's spec and the merged values;
    `callback_url` matters to browser flows only."""

    spec: ConnectorSpec
    values: dict[str, str]
    callback_url: str = ""
    #: The scopes to request, chosen by the install or the partner; None: the catalogue's.
    scopes: tuple[str, ...] | None = None
    #: oauth2 by discovery / dynamic registration (connectors/dynamic.py): called with
    #: `replace` when needed, it returns the endpoints and client found (else None).
    discover: Callable[[bool], dict[str, str]] | None = None


def checked_capture(spec_field: FieldSpec, value: str) -> bool:
    """Whether a value the provider returned for a captured field is to be kept: False when
    it is empty and optional; AuthError when a required one is missing or it is refused."""
    if not value:
        if spec_field.required:
            raise AuthError(f"The provider did not return the {spec_field.label}, so "
                            "sign-in was stopped.", kind=ErrorKind.TOKEN_ERROR)
        return False
    if not is_acceptable_captured(spec_field, value):
        raise AuthError(f"The provider returned a {spec_field.label} this connector "
                        "does not accept, so sign-in was stopped.", kind=ErrorKind.TOKEN_ERROR)
    return True


def is_acceptable_captured(spec_field: FieldSpec, value: str) -> bool:
    """Whether a captured value may be stored: its pattern (and, for a base URL, a bare
    https origin). A sign-in's captured values and imported ones pass the same check."""
    if spec_field.is_origin:
        return is_safe_value(spec_field, value, at_start=True)
    return len(value) <= 500 and matches_pattern(spec_field, value)


class AuthMethod:
    """Base class. Subclasses set `type` and override what their protocol supports."""

    type: str = ""
    #: True when authentication needs a browser redirect to the provider.
    browser_flow: bool = False
    #: True when access tokens expire and `refresh` can renew them (see `can_refresh`).
    refreshes: bool = False
    #: Field keys whose entered values become the credentials (api_key, basic): the
    #: services move them from the install's values into its encrypted credentials.
    credential_keys: tuple[str, ...] = ()
    #: The error when one of the `credential_keys` has no value.
    missing_message: str = ""
    #: How failures of the verify request name what was rejected.
    credential_label: str = "access token"
    #: The credential keys the partner API hands out (`GET /credentials`): what calling
    #: the provider needs, never what only Hatchway uses (a refresh token).
    shared_keys: tuple[str, ...] = ()

    def __init__(self, context: Context) -> None:
        self.context = context
        self.spec = context.spec

    def can_refresh(self, credentials: Mapping[str, Any]) -> bool:
        """Whether `refresh` can renew these credentials."""
        return self.refreshes

    # --- helpers shared by the methods ---------------------------------------------------

    def value(self, key: str) -> str:
        return str(self.context.values.get(key) or "")

    def url(self, template: str) -> str:
        """A catalogue URL with its placeholders filled from validated values."""
        try:
            return render_url(template, self.context.values, self.spec.fields)
        except TemplateValueError as exc:
            raise AuthError(f"{exc} Edit the install's details.",
                            kind=ErrorKind.CONFIGURATION) from None

    def filled(self, params: Mapping[str, str]) -> dict[str, str]:
        """Catalogue parameters with their placeholders filled exactly like URLs."""
        return {key: self.url(value) for key, value in params.items()}

    def authorize_params(self) -> dict[str, str]:
        """The catalogue's extra parameters for the authorization request."""
        return self.filled(self.spec.auth.authorize_params)

    def captured(self, token: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, str]:
        """The captured values from a token response and callback parameters.

        Each must match its field's pattern (and, for a base URL, be a bare https origin);
        otherwise the sign-in stops here, before anything is stored. The values also join
        this method's values, so the verify request that follows can use them.
        """
        values: dict[str, str] = {}
        for spec_field in self.spec.captured_fields:
            if spec_field.key in self.spec.post_connection_keys:  # filled by the lookups
                continue
            source, _, path = (spec_field.capture_from
                               or f"token.{self.spec.auth.captures[spec_field.key]}").partition(".")
            raw = dotted_get(dict(token), path) if source == "token" else params.get(path)
            value = raw if isinstance(raw, str) else str(raw) if isinstance(raw, int) else ""
            if spec_field.is_origin:
                value = value.lower()  # host names are case-insensitive; patterns are not
            if checked_capture(spec_field, value):
                values[spec_field.key] = value
        self.context.values.update(values)
        return values

    def scope(self) -> str | None:
        """The chosen scopes (the context's, else the catalogue's) joined by the catalogue's
        separator; None when there are none."""
        scopes = self.spec.auth.scopes if self.context.scopes is None else self.context.scopes
        return self.spec.auth.scope_separator.join(scopes) if scopes else None

    def api_url(self, path: str) -> str:
        if path.startswith(("https://", "http://", "{")):
            return self.url(path)
        return self.url(self.spec.api.base_url).rstrip("/") + "/" + path.lstrip("/")

    @property
    def base_url(self) -> str:
        """The connector's API base URL, its placeholders filled ('' when it has none)."""
        return self.url(self.spec.api.base_url).rstrip("/") if self.spec.api.base_url else ""

    @property
    def has_verify(self) -> bool:
        return self.spec.verify_request is not None

    def verify(self, credentials: dict[str, Any]) -> None:
        """Run the connector's `[api] verify` request; raise AuthError when it fails."""
        request = self.spec.verify_request
        if request is None:
            return
        verb, path = request
        url = self.api_url(path)
        with outbound_errors("The verify request"):
            response = self.session(credentials).request(verb, url, allow_redirects=False)
        status = response.status_code
        if status in (401, 403):
            raise AuthError(f"The {self.credential_label} was rejected (HTTP {status}).",
                            kind=ErrorKind.VERIFY_FAILED)
        raise_if_unavailable(response, "The provider is unavailable (HTTP {status}); "
                                       "try again later.")
        if status >= 300:
            raise AuthError(f"The verify request failed (HTTP {status}).",
                            kind=ErrorKind.VERIFY_FAILED)
        self.check_verify_expect(response)

    def check_verify_expect(self, response: requests.Response) -> None:
        """`[api] verify_expect`: a 200 whose body says failure (Slack's "ok": false) fails."""
        expect = self.spec.api.verify_expect
        if not expect:
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        for path, wanted in expect.items():
            found = dotted_get(body, path)
            # bool is an int: True must not pass for 1, nor 1 for True.
            if type(found) is not type(wanted) or found != wanted:
                raise AuthError(f"The provider did not accept the {self.credential_label}: "
                                f"its answer to the verify request has no {path} = "
                                f"{str(wanted).lower() if isinstance(wanted, bool) else wanted}.",
                                kind=ErrorKind.VERIFY_FAILED)

    def shared(self, credentials: dict[str, Any], expires_at: datetime | None
               ) -> tuple[dict[str, Any], datetime | None]:
        """What a credentials read hands out (`shared_keys` of the stored credentials) and
        when it expires; a mode that mints its token at use time (`jwt`) overrides it."""
        return {k: credentials[k] for k in self.shared_keys if k in credentials}, expires_at

    def begin(self, attempt: Any) -> str | None:
        """Start authentication. Return the provider URL to redirect to, or None."""
        return None

    def complete(self, attempt: Any, params: dict[str, str]) -> Credentials:
        """Finish authentication from the callback params; return the credentials.

        Without a browser step the entered values of `credential_keys` are the credentials.
        """
        data = {key: self.value(key) for key in self.credential_keys}
        if not all(data.values()):
            raise AuthError(self.missing_message, kind=ErrorKind.CONFIGURATION)
        return Credentials(data=data)

    def refresh(self, credentials: dict[str, Any]) -> Credentials:
        """Renew the access token. Raises InvalidGrant or TransientError."""
        raise AuthError("This connector's credentials cannot be refreshed.",
                        kind=ErrorKind.CONFIGURATION)

    def revoke(self, credentials: dict[str, Any]) -> None:
        """Revoke at the provider where it offers revocation (RFC 7009).

        Raises TransientError when the provider may accept it later, AuthError when it refuses.
        """

    @property
    def offers_revocation(self) -> bool:
        """Whether the provider has a revocation endpoint to call."""
        return bool(self.spec.auth.revoke_url)

    def revocation_credentials(self, credentials: dict[str, Any]) -> dict[str, Any]:
        """The part of `credentials` that `revoke` needs: kept (encrypted) to retry later."""
        return dict(credentials)

    def session(self, credentials: dict[str, Any]) -> http.Guarded:
        """An authorised session for verify calls, the proxy and callers, with the
        catalogue's `[api] headers` (which the proxy may also read from `api_headers`)."""
        session = self.open_session(credentials)
        session.headers.update(self.api_headers)
        return session

    @property
    def api_headers(self) -> dict[str, str]:
        """The catalogue's `[api] headers` with their `{key}` placeholders filled from the
        merged values (Twitch's `Client-Id`, Google Ads' `developer-token`)."""
        return {name: self.header_value(name, template)
                for name, template in self.spec.api.headers.items()}

    def filled_text(self, template: str,
                    builtins: Mapping[str, Callable[[], str]] | None = None) -> str:
        """Text (a body value, a claim, a JWT header) with its placeholders filled as
        entered: an optional field left empty fills in as "", a required one is a
        configuration error. `builtins` fill placeholders that name no field ({scopes})."""

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if builtins and key in builtins:
                return builtins[key]()
            spec_field = self.spec.field(key)
            if not self.value(key) and not (spec_field and not spec_field.required):
                raise AuthError(f"The value for “{key}” is missing. Edit the install's "
                                "details.", kind=ErrorKind.CONFIGURATION)
            return self.value(key)

        return PLACEHOLDER_RE.sub(fill, template)

    def header_value(self, name: str, template: str) -> str:
        """One filled header; a value that could end the header line (CR, LF, NUL and other
        control characters: header injection) is refused. Errors never hold the value."""

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            value = self.value(key)
            if not value:
                raise AuthError(f"The value for “{key}” is missing. Edit the install's "
                                "details.", kind=ErrorKind.CONFIGURATION)
            if HEADER_CONTROL_RE.search(value):
                raise AuthError(f"The value for “{key}” cannot be sent in the {name} header: "
                                "it holds a line break or another control character. Edit "
                                "the install's details.", kind=ErrorKind.CONFIGURATION)
            return value

        return PLACEHOLDER_RE.sub(fill, template)

    def open_session(self, credentials: dict[str, Any]) -> http.Guarded:
        """The method's own authorised session (without the catalogue's headers)."""
        raise NotImplementedError


# --- helpers for mapping outbound failures to safe errors ------------------------------

# Exceptions a protocol's own error mapping lets through: AuthErrors are safe already, and
# unsafe addresses are `outbound_errors`' to map (UnsafeURL is a ValueError, too).
ALREADY_MAPPED = (AuthError, UnsafeURL, InsecureTransportError)


@contextmanager
def outbound_errors(what: str) -> Iterator[None]:
    """Turn transport failures into AuthErrors whose messages hold no URL or secret."""
    try:
        yield
    except requests.Timeout:
        raise TransientError(f"{what} timed out; try again later.",
                             kind=ErrorKind.TIMEOUT) from None
    except requests.ConnectionError:
        raise TransientError(f"{what} could not reach the provider; try again later.") from None
    except (UnsafeURL, InsecureTransportError):
        raise AuthError(f"{what} uses an address this server may not call.",
                        kind=ErrorKind.CONFIGURATION) from None
    except RedirectRefused:
        raise AuthError(f"{what} was answered with a redirect, which is not followed for "
                        "requests carrying secrets.", kind=ErrorKind.TOKEN_ERROR) from None
    except ProtocolError as exc:
        raise AuthError(f"{what} failed: {exc}", kind=ErrorKind.ERROR) from None
    except requests.RequestException:
        raise AuthError(f"{what} failed.", kind=ErrorKind.ERROR) from None


@contextmanager
def no_unexpected_errors(what: str) -> Iterator[None]:
    """Whatever a provider or a library throws becomes an AuthError: never a 500."""
    try:
        yield
    except AuthError:
        raise
    except (OAuth2Error, requests.RequestException, ValueError, KeyError, TypeError) as exc:
        # The type only: the message could quote a response body or a token.
        log.warning("%s failed with %s", what, type(exc).__name__)
        raise AuthError(f"{what} failed unexpectedly.", kind=ErrorKind.ERROR) from None


def raise_if_unavailable(response: requests.Response, message: str) -> None:
    """On 5xx or 429 raise TransientError: `message`, its `{status}` filled, + Retry-After."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientError(message.format(status=status),
                             retry_after=retry_after(response)) from None


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), if any."""
    header = response.headers.get("Retry-After", "").strip()
    if not header:
        return None
    if header.isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def safe_error_code(code: Any) -> str:
    """A provider's error code if it looks like one; '' otherwise (never echo free text)."""
    return code if isinstance(code, str) and ERROR_CODE_RE.match(code) else ""


@contextmanager
def faults_are_transient() -> Iterator[None]:
    """While refreshing, only a refusal of the grant (`InvalidGrant`) or a configuration
    problem is permanent: any other failure -- an HTML or garbage answer, no access token,
    a redirect, an odd token type, a connection reset mid-body -- is a fault that may
    pass, so the install keeps its tokens and retries with a back-off."""
    try:
        yield
    except (InvalidGrant, TransientError):
        raise
    except AuthError as exc:
        if exc.kind == ErrorKind.CONFIGURATION:
            raise
        raise TransientError(exc.message, kind=exc.kind) from None
