"""The shared parts of the catalogue format: the constants and registries each auth mode
fills (APPLIES, REQUIRED_URLS, REQUIRED_FIELDS), the rule machinery (`rule`, `rules`, `At`)
and the value types the models use."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    model_validator,
)

AuthType = Literal["oauth1", "oauth2", "oauth2_client_credentials", "two_step", "jwt_bearer",
                   "app_installation", "jwt", "api_key", "basic", "none"]
AUTH_TYPES: tuple[str, ...] = get_args(AuthType)
AUTH_TYPE_LABELS = {"oauth1": "OAuth 1.0a", "oauth2": "OAuth 2.0",
                    "oauth2_client_credentials": "OAuth 2.0 client credentials",
                    "two_step": "Two-step token exchange",
                    "jwt_bearer": "JWT bearer (service account)",
                    "app_installation": "App installation (GitHub Apps)",
                    "jwt": "Self-signed JWT",
                    "api_key": "API key", "basic": "Basic", "none": "No authentication"}
TokenAuth = Literal["client_secret_post", "client_secret_basic", "private_key_jwt"]
BodyFormat = Literal["form", "json"]
# Where a captured value comes from: the token response (a dotted path) or the callback.
DOTTED = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
CAPTURE_RE = re.compile(rf"^(token|callback)\.({DOTTED})$")
VERIFY_RE = re.compile(r"^(GET|POST|HEAD) (\S+)$")
ERROR_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")  # an OAuth error code
# RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ), bounded here.
SCOPE_TOKEN_RE = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]{1,200}$")
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
BUILTIN_PLACEHOLDERS = {"public_url"}  # lets the sandbox entries point at this very server
# RFC 9110 field values: no control character but the tab (CR, LF and NUL above all).
HEADER_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Headers an [api] table may not set: the auth method and the transport own them.
RESERVED_HEADERS = {"authorization", "cookie", "host", "content-length", "transfer-encoding",
                    "connection", "proxy-authorization"}
REQUIRED_URLS = {"oauth1": ("request_token_url", "authorize_url", "access_token_url"),
                 "oauth2": ("authorize_url", "token_url"),
                 "oauth2_client_credentials": ("token_url",), "two_step": ("token_url",)}
# Field keys with a meaning each auth type requires.
REQUIRED_FIELDS = {"oauth1": ("consumer_key", "consumer_secret"), "oauth2": ("client_id",),
                   "oauth2_client_credentials": ("client_id", "client_secret"),
                   "api_key": ("api_key",), "basic": ("username", "password")}
# The fields api_key and basic move from the values into the credentials (their methods'
# `credential_keys`): they are not there for an `[api] headers` placeholder to use.
CREDENTIAL_FIELDS = {auth_type: REQUIRED_FIELDS[auth_type] for auth_type in ("api_key", "basic")}
OAUTH2_ONLY = ("token_params", "refresh_params", "body_format", "revoke_auth", "revoke_method",
               "revoke_body_format", "default_expires_in", "access_token_path", "token_type",
               "invalid_grant_errors", "optional_scopes")
TWO_STEP_ONLY = ("token_request", "token_path", "expires_in_path", "token_header", "token_prefix",
                 "captures")
APPLIES = {"oauth1": ("signature_method", "realm"), "oauth2": OAUTH2_ONLY,
           "oauth2_client_credentials": OAUTH2_ONLY,
           "two_step": (*TWO_STEP_ONLY, "default_expires_in")}

# --- jwt_bearer (issue 21 §2): a signed assertion bought at token_url (RFC 7523 §2.1) ---
JWT_BEARER_ONLY = ("audience", "algorithm", "assertion_lifetime", "claims", "key_file")
APPLIES["jwt_bearer"] = (*JWT_BEARER_ONLY, "default_expires_in")
REQUIRED_URLS["jwt_bearer"] = ("token_url",)
REQUIRED_FIELDS["jwt_bearer"] = ("private_key",)
#: Claims every assertion gets from Hatchway itself; `claims` may not set them.
JWT_SET_CLAIMS = ("aud", "exp", "iat", "jti", "nbf")
#: What `{scopes}` means in a claim: the chosen scopes, joined by `scope_separator`.
JWT_SCOPES_PLACEHOLDER = "scopes"
CLAIM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.-]{0,99}$")
#: The field holding the PEM private key; optional `key_id` becomes the JWT's `kid`.
PRIVATE_KEY_FIELD, KEY_ID_FIELD = "private_key", "key_id"
# --- end jwt_bearer ---

# --- jwt (issue 21 §3): a self-signed token sent as it is, no token endpoint ---
APPLIES["jwt"] = ("algorithm", "claims", "jwt_header", "lifetime", "token_header",
                  "token_prefix")
REQUIRED_FIELDS["jwt"] = (PRIVATE_KEY_FIELD,)
#: Claims every token gets from Hatchway itself; `claims` may not set them.
JWT_SELF_SET_CLAIMS = ("exp", "iat")
#: Header parameters Hatchway sets (`alg` from `algorithm`, `typ` JWT).
JWT_SET_HEADER = ("alg", "typ")
# --- end jwt ---


# --- app_installation (GitHub Apps; connectors/auth/app_installation.py) -----------------
# The customer installs the partner's app at `install_url`; the provider sends them back to
# the connector's Callback URL (the app's Setup URL) with the installation id, captured into
# the `installation_id` field; an app JWT signed with the partner's `private_key` buys an
# installation token at `access_token_url`.
APP_INSTALLATION_ONLY = ("install_url", "installer_token_url", "installer_installations_url")
APP_INSTALLATION_FIELDS = {"app_id": "partner", "private_key": "partner",
                           "installation_id": "captured"}
APP_INSTALLATION_FROM = "callback.installation_id"
REQUIRED_URLS["app_installation"] = ("install_url", "access_token_url")
REQUIRED_FIELDS["app_installation"] = tuple(APP_INSTALLATION_FIELDS)
APPLIES["app_installation"] = (*APP_INSTALLATION_ONLY, "default_expires_in")


# The modes whose `[auth] token_headers` and `[api] token_header`/`token_prefix` apply.
API_TOKEN_TYPES = {"oauth2", "oauth2_client_credentials"}
# A post-connection lookup: "GET https://…" or "GET /path" (relative to [api] base_url).
LOOKUP_RE = re.compile(r"^(GET|POST) (\S+)$")


M = TypeVar("M", bound=BaseModel)
STORED = {"stored": True}  # validation context of data checked when it was stored


def checked(info: ValidationInfo) -> bool:
    """Whether rules run: always, but on stored data (see ConnectorSpec.from_data)."""
    return not (info.context or {}).get("stored")


def rule(check: Callable[[Any], object]) -> AfterValidator:
    """A value's rule: `check` raises ValueError to refuse it."""
    def run(value: Any, info: ValidationInfo) -> Any:
        if checked(info):
            check(value)
        return value
    return AfterValidator(run)


def rules(check: Callable[[M], None]) -> Any:
    """A model's rules: `check` raises At to refuse it."""
    def run(self: M, info: ValidationInfo) -> M:
        if checked(info):
            check(self)
        return self
    return model_validator(mode="after")(run)


class At(ValueError):
    """A refusal naming its key, relative to the model that raises it."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def _text(value: str) -> None:
    if not value.strip() or "\x00" in value:
        raise ValueError("must be text, not empty and without NUL")


def _url(value: str) -> None:
    """An https URL template; one that starts with a placeholder continues with '/'."""
    first = PLACEHOLDER_RE.match(value)
    if first:
        if value[first.end():first.end() + 1] not in ("", "/"):
            raise ValueError("must continue with '/' after its base URL")
        return
    parts = urlsplit(PLACEHOLDER_RE.sub("x", value))
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https:// URL")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password")


def _header_name(name: str) -> None:
    if name.lower() in RESERVED_HEADERS:
        raise ValueError("is not a header this table may set")


def _token_header(name: str) -> None:
    if name.lower() in RESERVED_HEADERS - {"authorization", "cookie"}:
        raise ValueError("is a header the transport sets")


def _header_value(value: str) -> None:
    plain = PLACEHOLDER_RE.sub("", value)
    if HEADER_CONTROL_RE.search(value) or "{" in plain or "}" in plain:
        raise ValueError("must be one line of plain text with {field} placeholders only")


def _one_line(value: str) -> None:
    if HEADER_CONTROL_RE.search(value):
        raise ValueError("must be one line of text without control characters")


def _body(body: dict[str, Any], depth: int = 1) -> None:
    """A token request body: names of 1-100 characters; text up to 500, or objects of
    such members, at most four deep."""
    for name, value in body.items():
        if not 0 < len(name) <= 100:
            raise ValueError("member names must be 1 to 100 characters")
        if isinstance(value, dict):
            if depth >= 4:
                raise ValueError("nests objects more than four deep")
            _body(value, depth + 1)
        elif not isinstance(value, str) or len(value) > 500 or "\x00" in value:
            raise ValueError(f"{name}: must be text up to 500 characters or an object")


def _scalar(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValueError:
        raise ValueError("must be a string, a boolean or an integer") from None


_TEXT = rule(_text)
Text100 = Annotated[str, StringConstraints(max_length=100), _TEXT]
Text500 = Annotated[str, StringConstraints(max_length=500), _TEXT]
LAX = Field(strict=False)  # a list in TOML and JSON, a tuple on the spec
Url = Annotated[Text500, rule(_url),
                Field(json_schema_extra={"pattern": r"^(https://|\{[a-z_][a-z0-9_]*\}(/|$))"})]
Dotted = Annotated[str, StringConstraints(pattern=f"^{DOTTED}$")]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"),
                       rule(_header_name)]
# A choice's mapped value goes into URLs: a host name or a plain path segment, nothing more.
ChoiceValue = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")]
Params = dict[str, str]
HeaderValue = Annotated[Text500, rule(_header_value)]


TokenHeader = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"),
                       rule(_token_header)]
TokenPrefix = Annotated[str, StringConstraints(max_length=50), rule(_one_line)]



class _Model(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid",
                              use_attribute_docstrings=True)


ScopeToken = Annotated[str, StringConstraints(pattern=SCOPE_TOKEN_RE.pattern)]



def _check_refs(where: str, text: str, known: set[str]) -> None:
    for name in PLACEHOLDER_RE.findall(text):
        if name not in known:
            raise At(where, f"refers to {{{name}}}, which is not a field")


def _check_url_refs(where: str, url: str, keys: set[str], origins: set[str]) -> None:
    """Placeholders name fields; only `{public_url}` or a captured origin starts a URL."""
    _check_refs(where, url, keys | BUILTIN_PLACEHOLDERS)
    for name in PLACEHOLDER_RE.findall(url):
        if name in origins and not url.startswith(f"{{{name}}}"):
            raise At(where, f"may use {{{name}}} (a whole URL) only at its start")
    first = PLACEHOLDER_RE.match(url)
    if first and first.group(1) not in origins | BUILTIN_PLACEHOLDERS:
        raise At(where, f"may start with {first.group(0)} only when it is a field with "
                        "kind = 'base_url' or a captured field whose pattern anchors an "
                        "https host")
