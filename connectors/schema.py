"""The connector catalogue format, declared once: these models validate a catalogue file or
any dict of its shape (an API body), are the spec objects the code reads (`connector.spec`),
and generate `catalog.schema.json`. A rule about one value sits on its type, a rule relating
parts on the smallest model holding them; it raises `At(key, message)`, the key relative to
that model (connectors/spec.py makes it the file's dotted key)."""

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
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from connectors.patterns import anchors_https_host, compiled

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


class OptionalScope(_Model):
    """A scope Authentication Settings and installs may add to the defaults."""

    scope: ScopeToken
    description: Text500


class FieldSpec(_Model):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    label: Text100
    help: str = ""
    level: Literal["partner", "account", "captured"] = "partner"
    """partner: Authentication Settings; account: asked at install; captured: from sign-in."""
    secret: bool = False
    required: bool = True
    pattern: Annotated[str, rule(compiled)] = ""
    """Matched with RE2 against the whole value (connectors/patterns.py)."""
    capture_from: Annotated[str, Field(alias="from", pattern=CAPTURE_RE.pattern)] = ""
    """level "captured": where the value comes from ("token.instance_url", "callback.realmId")."""
    choices: Annotated[dict[Text100, ChoiceValue], Field(min_length=1)] = Field(
        default_factory=dict)
    """A select: label -> the value stored and put into URLs."""
    # --- customer-typed hosts (issue 21 §6) ---
    kind: Literal["text", "base_url", "server_url"] = "text"
    """base_url: the full https URL of the customer's own server; `{key}` may start URLs.
    server_url: the whole https URL of an MCP server the customer enters (level "account");
    `auth.discovery = "protected_resource"` finds its authorization server."""
    allowed_hosts: Annotated[str, rule(compiled)] = ""
    """kind base_url: an RE2 pattern (^...$) the server's host name must match."""

    @rules
    def _base_url_rules(self) -> None:
        if self.kind != "base_url":
            if self.allowed_hosts:
                raise At("allowed_hosts", "is only for kind = 'base_url'")
            return
        if self.is_captured or self.secret or self.choices:
            raise At("kind", "a base URL is typed in: not captured, secret or a choice")
        if self.allowed_hosts and not (self.allowed_hosts.startswith("^")
                                       and self.allowed_hosts.endswith("$")):
            raise At("allowed_hosts", "must be anchored with ^ and $")

    @property
    def is_base_url(self) -> bool:
        """A customer-typed https URL of their own server (connectors/hosts.py)."""
        return self.kind == "base_url"
    # --- end customer-typed hosts ---

    @rules
    def _level_rules(self) -> None:
        if self.kind == "server_url" and (self.level != "account" or self.secret
                                          or self.choices):
            raise At("kind", "a server_url field is a non-secret account-level text field")
        if self.choices and self.secret:
            raise At("secret", "a choice is not a secret")
        if len(set(self.choices.values())) < len(self.choices):
            raise At("choices", "maps two labels to the same value")
        if not self.is_captured:
            if "capture_from" in self.model_fields_set:
                raise At("from", "is only for level = 'captured'")
        elif not (self.pattern.startswith("^") and self.pattern.endswith("$")):
            raise At("pattern", "is required for captured values, anchored with ^ and $")
        elif self.secret or self.choices:
            raise At("level", "captured values are non-secret facts, not secrets or choices")

    @property
    def is_partner_level(self) -> bool:
        return self.level == "partner"

    @property
    def is_captured(self) -> bool:
        """Filled from the sign-in (token response or callback), never asked."""
        return self.level == "captured"

    @property
    def is_origin(self) -> bool:
        """A captured value that is a whole https origin (it may start a URL)."""
        return self.is_captured and anchors_https_host(self.pattern)


class TokenRequest(_Model):
    """two_step: the request that exchanges the entered credentials for a token."""

    method: Literal["POST", "GET", "PUT"] = "POST"
    body_format: BodyFormat = "json"
    body: Annotated[dict[str, str | dict[str, Any]], rule(_body)] = Field(default_factory=dict)
    """Body members: text with `{field}` placeholders (filled with the entered values as
    they are), or, for JSON, objects of such members (Tableau's `credentials.site`)."""
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)

    @rules
    def _body_fits_its_format(self) -> None:
        if self.body and self.method == "GET":
            raise At("body", "cannot be sent with GET")
        if self.body_format == "form" and any(isinstance(v, dict) for v in self.body.values()):
            raise At("body", "a form body holds text members only, no objects")

    def body_texts(self) -> list[tuple[str, str]]:
        """(dotted name, text) of every text member, nested ones included."""
        return _texts_of(self.body)


def _texts_of(body: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for name, value in body.items():
        if isinstance(value, dict):
            texts.extend(_texts_of(value, f"{prefix}{name}."))
        else:
            texts.append((f"{prefix}{name}", value))
    return texts


class AuthSpec(_Model):
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
    # --- extra headers on token requests (issue 21 §6) ---
    token_headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    """OAuth 2.0 modes: extra headers on the token, refresh and revoke requests
    (`{field}` placeholders allowed)."""

    @rules
    def _token_headers_apply(self) -> None:
        if self.token_headers and self.type not in API_TOKEN_TYPES:
            raise At("token_headers", f"does not apply to {self.type}")
    # --- end extra headers on token requests ---
    # --- jwt_bearer (issue 21 §2) ---
    audience: Annotated[Text500, rule(_one_line)] = ""
    """jwt_bearer: the assertion's `aud` ({field} placeholders allowed); default token_url."""
    algorithm: Literal["RS256", "ES256", "HS256"] = "RS256"
    """jwt_bearer, jwt: how the JWT is signed with the `private_key` field's key (HS256,
    jwt only: the field holds a shared secret, hex-encoded)."""
    assertion_lifetime: Annotated[int, Field(ge=30, le=3600)] = 300
    """jwt_bearer: seconds from `iat` to `exp` of each assertion (a new one per request)."""
    claims: dict[Annotated[str, StringConstraints(pattern=CLAIM_NAME_RE.pattern)],
                 Annotated[Text500, rule(_one_line)]] = Field(default_factory=dict)
    """jwt_bearer: the assertion's claims, text with {field} placeholders and {scopes}
    (the chosen scopes); aud, exp, iat, jti and nbf are Hatchway's. A claim that fills in
    empty is left out."""
    key_file: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
                   Dotted] = Field(default_factory=dict)
    """jwt_bearer: a JSON key file (Google's service-account key) pasted in one input fills
    these fields: field key -> dotted path in the file. Nothing else of the file is kept."""

    @rules
    def _jwt_bearer(self) -> None:
        if self.type != "jwt_bearer":
            return
        for name in sorted(set(self.claims) & set(JWT_SET_CLAIMS)):
            raise At(f"claims.{name}", "is set by Hatchway on every assertion")
        if "iss" not in self.claims:
            raise At("claims", "needs an iss claim (RFC 7523 §3)")
        if self.algorithm == "HS256":
            raise At("algorithm", "jwt_bearer signs with a private key: RS256 or ES256")
    # --- end jwt_bearer ---
    # --- discovery and dynamic registration (connectors/dynamic.py) -----------------------
    registration: Literal["static", "dynamic"] = "static"
    """oauth2: "dynamic" registers a client at the server's registration endpoint (RFC
    7591), once per partner, issuer and callback URL: no client_id field, nothing to save."""
    discovery: Literal["", "protected_resource"] = ""
    """oauth2: "protected_resource" (MCP servers): the authorization server comes from the
    RFC 9728 metadata of the server URL -- `server_url`, or what the customer enters in the
    field with kind = "server_url" -- and sign-ins and refreshes send `resource=<that URL>`
    (RFC 8707). The proxy's base URL is the server URL."""
    server_url: Url = ""
    """protected_resource: the URL of a provider's own remote MCP server."""

    @property
    def discovers(self) -> bool:
        """oauth2 whose endpoints come from metadata (an issuer, or a protected resource)."""
        return self.type == "oauth2" and (
            self.discovery == "protected_resource"
            or bool(self.issuer and not (self.authorize_url or self.token_url)))

    @rules
    def _discovery_rules(self) -> None:
        for key in ("registration", "discovery"):
            if key in self.model_fields_set and self.type != "oauth2":
                raise At(key, f"does not apply to {self.type}")
        if self.issuer and (self.authorize_url or self.token_url) and not (
                self.authorize_url and self.token_url):
            raise At("token_url", "declare both authorize_url and token_url, or neither "
                                  "(discovered from the issuer)")
        if self.discovery == "protected_resource":
            if set(PLACEHOLDER_RE.findall(self.server_url)) - BUILTIN_PLACEHOLDERS:
                raise At("server_url", "must be a whole https URL (only {public_url} may "
                                       "stand in it)")
            if self.issuer or self.authorize_url or self.token_url or self.revoke_url:
                raise At("discovery", "protected_resource finds the issuer and endpoints: "
                                      "declare none")
            if self.registration != "dynamic":
                raise At("registration", "must be 'dynamic' with protected_resource discovery")
        elif self.server_url:
            raise At("server_url", "needs discovery = 'protected_resource'")
        elif self.registration == "dynamic" and not self.discovers:
            raise At("registration", "'dynamic' needs an issuer (without authorize_url and "
                                     "token_url) or discovery = 'protected_resource'")
    # --- jwt (issue 21 §3) ---
    jwt_header: dict[Annotated[str, StringConstraints(pattern=CLAIM_NAME_RE.pattern)],
                     Annotated[Text500, rule(_one_line)]] = Field(default_factory=dict)
    """jwt: extra JOSE header parameters, e.g. kid = "{key_id}" ({field} placeholders
    allowed; alg and typ are Hatchway's)."""
    lifetime: Annotated[int, Field(ge=30, le=3600)] = 300
    """jwt: seconds from `iat` to `exp` of each token (one is minted whenever it is used)."""

    @rules
    def _jwt(self) -> None:
        if self.type != "jwt":
            return
        for name in sorted(set(self.claims) & set(JWT_SELF_SET_CLAIMS)):
            raise At(f"claims.{name}", "is set by Hatchway on every token")
        for name in sorted(set(self.jwt_header) & set(JWT_SET_HEADER)):
            raise At(f"jwt_header.{name}", "is set by Hatchway on every token")
        for key in sorted(k for k in type(self).model_fields if k.endswith("_url")):
            if getattr(self, key):
                raise At(key, "does not apply to jwt: no token endpoint is involved")
    # --- end jwt ---

    @rules
    def _per_type(self) -> None:
        for key in REQUIRED_URLS.get(self.type, ()):
            if self.discovers:
                break
            if not getattr(self, key):
                raise At(key, f"is required for {self.type}")
        only = {key for keys in APPLIES.values() for key in keys} - set(APPLIES.get(self.type, ()))
        for key in sorted(self.model_fields_set & only):
            raise At(key, f"does not apply to {self.type}")
        listed = [o.scope for o in self.optional_scopes]
        for index, scope in enumerate(listed):
            if scope in listed[:index] or scope in self.scopes:
                raise At(f"optional_scopes[{index}].scope", f"{scope!r} is listed twice")
        if self.type == "two_step" and not self.token_path:
            raise At("token_path", "is required for two_step")
        if self.type == "api_key" and bool(self.header) == bool(self.query_param):
            raise At("header", "api_key needs exactly one of header or query_param")

    @property
    def effective_refresh_url(self) -> str:
        return self.refresh_url or self.token_url

    @property
    def effective_revoke_auth(self) -> str:
        return self.revoke_auth or self.token_auth

    @property
    def effective_revoke_body_format(self) -> str:
        return self.revoke_body_format or self.body_format


URL_KEYS = tuple(key for key in AuthSpec.model_fields if key.endswith("_url"))


class ApiSpec(_Model):
    base_url: Url = ""
    verify: Annotated[str, StringConstraints(pattern=VERIFY_RE.pattern)] = ""
    """The request that proves credentials work: "GET /me" (or a whole URL after the method)."""
    headers: dict[HeaderName, Annotated[Text500, rule(_header_value)]] = Field(default_factory=dict)
    """Sent on verify, on authorised sessions and on proxied calls."""
    verify_expect: dict[Dotted, Annotated[str | bool | int, WrapValidator(_scalar)]] = Field(
        default_factory=dict)
    """Dotted JSON paths -> the values the verify response must hold."""
    # --- how OAuth 2.0 modes send the access token (issue 21 §6) ---
    token_header: TokenHeader = "Authorization"
    """OAuth 2.0 modes: the header API calls carry the access token in."""
    token_prefix: TokenPrefix = "Bearer "
    """OAuth 2.0 modes: put before the token in that header (Zoho's "Zoho-oauthtoken ")."""

    @property
    def sends_token_its_own_way(self) -> bool:
        """Whether `token_header` or `token_prefix` is declared (else the token type's
        `Authorization: Bearer`)."""
        return bool({"token_header", "token_prefix"} & self.model_fields_set)
    # --- end how OAuth 2.0 modes send the access token ---

    @field_validator("verify")
    @classmethod
    def _verify_url(cls, value: str, info: ValidationInfo) -> str:
        path = value.split(" ", 1)[1]
        if checked(info) and not path.startswith("/"):  # a whole URL, checked like the others
            _url(path)
        return value

    @rules
    def _verify_needs(self) -> None:
        if self.verify and not self.base_url:
            raise At("base_url", "is required when api.verify is set")
        if self.verify_expect and not self.verify:
            raise At("verify", "is required when api.verify_expect is set")


# --- lookups after sign-in and import (issue 21 §6) ---
class PostConnection(_Model):
    """A request run with the new credentials after sign-in and after import, whose JSON
    answer fills captured fields (Atlassian's cloud id from accessible-resources)."""

    request: Annotated[str, StringConstraints(pattern=LOOKUP_RE.pattern)]
    """"GET https://…" (a whole URL) or "GET /path" (relative to [api] base_url)."""
    capture: Annotated[dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
                            Dotted], Field(min_length=1)]
    """captured field key -> dotted path in the answer (a number indexes a list: "0.id")."""

    @field_validator("request")
    @classmethod
    def _request_url(cls, value: str, info: ValidationInfo) -> str:
        url = value.split(" ", 1)[1]
        if checked(info) and not url.startswith("/"):
            _url(url)
        return value

    @property
    def verb(self) -> str:
        return self.request.split(" ", 1)[0]

    @property
    def url(self) -> str:
        return self.request.split(" ", 1)[1]
# --- end lookups after sign-in and import ---


class ConnectorSpec(_Model):
    name: Text100
    description: Text500
    categories: Annotated[tuple[Annotated[str, StringConstraints(max_length=50), _TEXT], ...],
                          LAX] = ()
    website: Url = ""
    api_docs: Url = ""
    fields: Annotated[tuple[FieldSpec, ...], LAX] = ()
    auth: AuthSpec
    api: ApiSpec = Field(default_factory=ApiSpec)
    guide: dict[Literal["requirements", "credentials", "account_setup"], str] = Field(
        default_factory=dict)
    post_connection: Annotated[tuple[PostConnection, ...], LAX] = ()
    """Lookups after sign-in and import (connectors/auth/post_connection.py)."""
    _slug: str = PrivateAttr("")

    # --- customer-typed hosts, token headers and lookups (issue 21 §6) ---
    @rules
    def _hosts_rules(self) -> None:
        if self.api.sends_token_its_own_way and self.auth.type not in API_TOKEN_TYPES:
            raise At("api.token_header", f"does not apply to {self.auth.type}: only to "
                                         "OAuth 2.0 modes")
        if "private_key_jwt" in (self.auth.token_auth, self.auth.revoke_auth):
            self._private_key_jwt_rules()
        keys = {f.key for f in self.fields}
        origins = {f.key for f in self.fields if f.is_origin or f.is_base_url}
        for name, value in self.auth.token_headers.items():
            _check_refs(f"auth.token_headers.{name}", value, keys)
        captured = {f.key for f in self.captured_fields}
        later = set(self.post_connection_keys)
        base_refs = set(PLACEHOLDER_RE.findall(self.api.base_url))
        for index, lookup in enumerate(self.post_connection):
            where = f"post_connection[{index}]"
            for key in lookup.capture:
                if key not in captured:
                    raise At(f"{where}.capture.{key}", "names no field with level = 'captured'")
                if key in self.auth.captures:
                    raise At(f"{where}.capture.{key}", "is captured twice")
            uses = base_refs if lookup.url.startswith("/") else set(
                PLACEHOLDER_RE.findall(lookup.url))
            if lookup.url.startswith("/") and not self.api.base_url:
                raise At(f"{where}.request", "a path needs [api] base_url")
            if not lookup.url.startswith("/"):
                _check_url_refs(f"{where}.request", lookup.url, keys, origins)
            for key in sorted(uses & later):
                raise At(f"{where}.request", f"uses {{{key}}} before a lookup captures it")
            later -= set(lookup.capture)

    def _private_key_jwt_rules(self) -> None:
        """RFC 7523 §2.2 client authentication: OAuth 2.0 modes, with a secret private key."""
        if self.auth.type not in API_TOKEN_TYPES:
            raise At("auth.token_auth", f"private_key_jwt does not apply to {self.auth.type}")
        key = self.field("private_key")
        if key is None or not key.secret or key.level != "partner":
            raise At("fields", "private_key_jwt needs a field with key 'private_key', "
                               "secret and partner-level")

    @property
    def post_connection_keys(self) -> tuple[str, ...]:
        """The captured field keys the post-connection lookups fill, in order."""
        return tuple(key for lookup in self.post_connection for key in lookup.capture)
    # --- end customer-typed hosts, token headers and lookups ---

    @rules
    def _references(self) -> None:
        """Every placeholder names a declared field, and only an https origin starts a URL."""
        keys = [f.key for f in self.fields]
        for index, key in enumerate(keys):
            if key in keys[:index]:
                raise At(f"fields[{index}].key", f"duplicate field {key!r}")
        self._server_url_field()
        dynamic = self.auth.registration == "dynamic"
        for key in () if dynamic else REQUIRED_FIELDS.get(self.auth.type, ()):
            if key == "client_secret" and self.auth.token_auth == "private_key_jwt":
                continue  # the private key authenticates the client instead
            if key not in keys:
                raise At("fields", f"a field with key {key!r} is required")
        origins = {f.key for f in self.fields if f.is_origin or f.is_base_url}
        for where, url in (("website", self.website), ("api_docs", self.api_docs)):
            _check_url_refs(where, url, set(), set())
        for where, url in self._urls():
            _check_url_refs(where, url, {*keys}, origins)
        for where, text in self._texts():
            _check_refs(where, text, {*keys, *BUILTIN_PLACEHOLDERS})
        self._captures_name_captured_fields()
        moved = CREDENTIAL_FIELDS.get(self.auth.type, ())
        for name, value in self.api.headers.items():
            _check_refs(f"api.headers.{name}", value, {*keys})
            for ref in {*PLACEHOLDER_RE.findall(value)} & {*moved}:
                raise At(f"api.headers.{name}",
                         f"may not use {{{ref}}}: {self.auth.type} sends it as the credentials")

    @rules
    def _app_installation_fields(self) -> None:
        """app_installation: the app's id and private key (a secret) are the partner's, the
        installation id is captured from the callback (the provider's Setup URL redirect)."""
        if self.auth.type != "app_installation":
            return
        for index, spec_field in enumerate(self.fields):
            level = APP_INSTALLATION_FIELDS.get(spec_field.key)
            if level and spec_field.level != level:
                raise At(f"fields[{index}].level", f"must be {level!r} for app_installation")
            if spec_field.key == "private_key" and not spec_field.secret:
                raise At(f"fields[{index}].secret", "must be true: the private key is a secret")
            if spec_field.key == "installation_id" and (
                    spec_field.capture_from != APP_INSTALLATION_FROM):
                raise At(f"fields[{index}].from", f"must be {APP_INSTALLATION_FROM!r}")
        self._key_only_signs()
        if bool(self.auth.installer_token_url) != bool(self.auth.installer_installations_url):
            raise At("auth.installer_installations_url",
                     "is required with installer_token_url, and only with it")
        if self.auth.installer_token_url:
            self._installer_client_fields()

    def _installer_client_fields(self) -> None:
        """Checking the installer needs the app's OAuth client: its id and secret."""
        for key, secret in (("client_id", False), ("client_secret", True)):
            spec_field = self.field(key)
            if spec_field is None or not spec_field.is_partner_level:
                raise At("fields", f"a partner-level field with key {key!r} is required with "
                                   "auth.installer_token_url")
            if spec_field.secret != secret:
                raise At("fields", f"the field {key!r} must have secret = {str(secret).lower()}")

    # --- jwt_bearer (issue 21 §2) ---
    @rules
    def _jwt_references(self) -> None:
        """Claims and audience name fields (or {scopes}); the private key is a secret that
        only signs: no claim, header or URL may carry it."""
        if self.auth.type != "jwt_bearer":
            return
        keys = {f.key for f in self.fields}
        for name, value in self.auth.claims.items():
            _check_refs(f"auth.claims.{name}", value, keys | {JWT_SCOPES_PLACEHOLDER})
        _check_refs("auth.audience", self.auth.audience, keys | BUILTIN_PLACEHOLDERS)
        self._private_key_is_secret()
        self._key_only_signs()
        self._key_file_fills_fields()

    def _private_key_is_secret(self) -> None:
        for index, spec_field in enumerate(self.fields):  # none: `_references` asks for it
            if spec_field.key == PRIVATE_KEY_FIELD and not spec_field.secret:
                raise At(f"fields[{index}].secret", "must be true: the private key is a secret")

    def _key_only_signs(self) -> None:
        """jwt_bearer, jwt, app_installation: no claim, header or URL may carry the key."""
        used = [*((f"auth.claims.{name}", value) for name, value in self.auth.claims.items()),
                *((f"auth.jwt_header.{name}", value)
                  for name, value in self.auth.jwt_header.items()),
                ("auth.audience", self.auth.audience),
                *((f"api.headers.{name}", value) for name, value in self.api.headers.items()),
                *self._urls()]
        for where, text in used:
            if PRIVATE_KEY_FIELD in PLACEHOLDER_RE.findall(text):
                raise At(where, "may not use {private_key}: the key only signs")

    def _key_file_fills_fields(self) -> None:
        """`key_file` fills declared fields of one level, the private key among them."""
        if not self.auth.key_file:
            return
        by_key = {f.key: f for f in self.fields}
        for key in self.auth.key_file:
            if key not in by_key or by_key[key].is_captured or by_key[key].choices:
                raise At(f"auth.key_file.{key}", "names no field that is entered as text")
        if PRIVATE_KEY_FIELD not in self.auth.key_file:
            raise At("auth.key_file", "must fill the private_key field")
        if len({by_key[key].level for key in self.auth.key_file}) > 1:
            raise At("auth.key_file", "fills fields of one level only")
    # --- end jwt_bearer ---

    def _server_url_field(self) -> None:
        """discovery = "protected_resource" asks for exactly one server_url field."""
        found = [f for f in self.fields if f.kind == "server_url"]
        if self.auth.discovery == "protected_resource" and len(found) + bool(
                self.auth.server_url) != 1:
            raise At("fields", "protected_resource discovery needs auth.server_url or "
                               "exactly one field with kind = 'server_url' (not both)")
        if found and self.auth.discovery != "protected_resource":
            raise At("fields", "a kind = 'server_url' field needs auth.discovery = "
                               "'protected_resource'")
        if self.auth.registration == "dynamic":
            for key in ("client_id", "client_secret"):
                if key in {f.key for f in self.fields}:
                    raise At("fields", f"{key!r} comes from the dynamic registration")

    @property
    def server_url_field(self) -> FieldSpec | None:
        return next((f for f in self.fields if f.kind == "server_url"), None)

    # --- jwt (issue 21 §3) ---
    @rules
    def _self_signed_references(self) -> None:
        """Claims and header name fields; the key is a secret that only signs."""
        if self.auth.type != "jwt":
            return
        keys = {f.key for f in self.fields}
        for name, value in self.auth.claims.items():
            _check_refs(f"auth.claims.{name}", value, keys)
        for name, value in self.auth.jwt_header.items():
            _check_refs(f"auth.jwt_header.{name}", value, keys)
        self._private_key_is_secret()
        self._key_only_signs()
    # --- end jwt ---

    def _captures_name_captured_fields(self) -> None:
        """A captured field says where it comes from: its `from`, or `auth.captures`."""
        captured = {f.key for f in self.captured_fields}
        for key in self.auth.captures:
            if key not in captured:
                raise At(f"auth.captures.{key}", "names no field with level = 'captured'")
        for index, spec_field in enumerate(self.fields):
            if spec_field.is_captured and not spec_field.capture_from:
                if spec_field.key not in {*self.auth.captures, *self.post_connection_keys}:
                    raise At(f"fields[{index}].from",
                             "is required: 'token.<path>' or 'callback.<parameter>'")
            elif spec_field.key in {*self.auth.captures, *self.post_connection_keys}:
                raise At(f"fields[{index}].from", "is set twice: here and in a capture")

    def _urls(self) -> list[tuple[str, str]]:
        """The URL templates that may use fields: the endpoints, base URL and verify URL."""
        urls = [*((f"auth.{key}", getattr(self.auth, key)) for key in URL_KEYS),
                ("api.base_url", self.api.base_url)]
        if self.verify_request and not self.verify_request[1].startswith("/"):
            urls.append(("api.verify", self.verify_request[1]))
        return urls

    def _texts(self) -> list[tuple[str, str]]:
        params = ("authorize_params", "token_params", "refresh_params")
        request = self.auth.token_request
        return [*((f"auth.{key}", value) for key in params
                  for value in getattr(self.auth, key).values()), ("auth.realm", self.auth.realm),
                *((f"auth.token_request.body.{name}", value)
                  for name, value in request.body_texts()),
                *((f"auth.token_request.headers.{name}", value)
                  for name, value in request.headers.items())]

    @classmethod
    def from_data(cls, slug: str, data: dict[str, Any]) -> ConnectorSpec:
        """Rebuild from stored data (`connector.spec`, on request paths): its types are
        checked again, its rules are not -- they held when it was stored and may have grown."""
        spec = cls.model_validate(data, context=STORED)
        spec._slug = slug
        return spec

    @property
    def slug(self) -> str:
        return self._slug

    @property
    def partner_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.is_partner_level)

    @property
    def account_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.level == "account")

    @property
    def captured_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.is_captured)

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def verify_request(self) -> tuple[str, str] | None:
        """(method, path) of the request that proves credentials work, if any."""
        match = VERIFY_RE.match(self.api.verify)
        return (match.group(1), match.group(2)) if match else None


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
