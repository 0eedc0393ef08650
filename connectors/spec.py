"""The connector catalogue format: parsing and validating `connectors/catalog/*.toml`.

Each file is read with the standard library's `tomllib` and checked key by key; any
problem raises :class:`CatalogError` naming the file and the key. The validated data
is stored on the Connector row as JSON and turned back into a :class:`ConnectorSpec`
wherever code needs it.
"""

from __future__ import annotations

import re
import re._constants as sre  # type: ignore[import-not-found]  # the stdlib's own parser:
import re._parser as sre_parse  # type: ignore[import-not-found]  # no public one exists
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"

AUTH_TYPE_LABELS = {
    "oauth1": "OAuth 1.0a",
    "oauth2": "OAuth 2.0",
    "oauth2_client_credentials": "OAuth 2.0 client credentials",
    "api_key": "API key",
    "basic": "Basic",
    "none": "No authentication",
}
AUTH_TYPES = tuple(AUTH_TYPE_LABELS)
LEVELS = ("partner", "account", "captured")
TOKEN_AUTH = ("client_secret_post", "client_secret_basic")
BODY_FORMATS = ("form", "json")
REVOKE_METHODS = ("POST", "DELETE")
SIGNATURE_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT")
# Where a captured value comes from: the token response (a dotted path) or the callback.
CAPTURE_RE = re.compile(r"^(token|callback)\.([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)$")
DOTTED_PATH_RE = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
# RFC 9110 field values: no control character but the tab (CR, LF and NUL above all).
HEADER_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Headers an [api] table may not set: the auth method and the transport own them.
RESERVED_HEADERS = {"authorization", "cookie", "host", "content-length", "transfer-encoding",
                    "connection", "proxy-authorization"}
# A choice's mapped value goes into URLs: a host name or a plain path segment, nothing more.
CHOICE_VALUE_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
FIELD_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# `{public_url}` lets the sandbox entries point at this very server.
BUILTIN_PLACEHOLDERS = {"public_url"}

# URL keys each auth type requires, and the field keys with a meaning it requires.
REQUIRED_URLS = {
    "oauth1": ("request_token_url", "authorize_url", "access_token_url"),
    "oauth2": ("authorize_url", "token_url"),
    "oauth2_client_credentials": ("token_url",),
}
REQUIRED_FIELDS = {
    "oauth1": ("consumer_key", "consumer_secret"),
    "oauth2": ("client_id",),
    "oauth2_client_credentials": ("client_id", "client_secret"),
    "api_key": ("api_key",),
    "basic": ("username", "password"),
}
# The fields api_key and basic move from the values into the credentials (their methods'
# `credential_keys`): they are not there for an `[api] headers` placeholder to use.
CREDENTIAL_FIELDS = {auth_type: REQUIRED_FIELDS[auth_type] for auth_type in ("api_key", "basic")}
URL_KEYS = (
    "request_token_url",
    "authorize_url",
    "access_token_url",
    "token_url",
    "refresh_url",
    "revoke_url",
)
TOP_KEYS = {"name", "description", "categories", "website", "api_docs", "auth", "api", "fields",
            "guide"}
AUTH_KEYS = {"type", *URL_KEYS, "scopes", "scope_separator", "pkce", "token_auth",
             "authorize_params", "header", "prefix", "query_param", "token_params",
             "refresh_params", "body_format", "revoke_auth", "revoke_method",
             "revoke_body_format", "default_expires_in", "access_token_path", "token_type",
             "signature_method", "realm", "invalid_grant_errors", "issuer"}
API_KEYS = {"base_url", "verify", "headers", "verify_expect"}
FIELD_KEYS = {"key", "label", "help", "level", "secret", "required", "pattern", "from",
              "choices"}
GUIDE_KEYS = {"requirements", "credentials", "account_setup"}
VERIFY_RE = re.compile(r"^(GET|POST|HEAD) (\S+)$")


class CatalogError(ValueError):
    """A catalogue file that does not follow the format; names the file and the key."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key = source, key
        super().__init__(f"{source}: {key}: {message}")


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    help: str = ""
    level: str = "partner"
    secret: bool = False
    required: bool = True
    pattern: str = ""
    #: level "captured": where the value comes from ("token.instance_url", "callback.realmId").
    capture_from: str = ""
    #: A select: label -> the value stored and put into URLs.
    choices: dict[str, str] = field(default_factory=dict)

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


@dataclass(frozen=True)
class AuthSpec:
    type: str
    request_token_url: str = ""
    authorize_url: str = ""
    access_token_url: str = ""
    token_url: str = ""
    refresh_url: str = ""
    revoke_url: str = ""
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = True
    token_auth: str = "client_secret_post"
    authorize_params: dict[str, str] = field(default_factory=dict)
    header: str = ""
    prefix: str = ""
    query_param: str = ""
    token_params: dict[str, str] = field(default_factory=dict)
    refresh_params: dict[str, str] = field(default_factory=dict)
    body_format: str = "form"
    revoke_auth: str = ""
    revoke_method: str = "POST"
    revoke_body_format: str = ""
    default_expires_in: int = 0
    access_token_path: str = ""
    token_type: str = ""
    # Error codes that, like `invalid_grant`, say the grant itself is gone (RFC 6749 §5.2):
    # only these ask the customer to consent again; any other failed refresh is retried.
    invalid_grant_errors: tuple[str, ...] = ()
    signature_method: str = "HMAC-SHA1"
    realm: str = ""
    # The authorization server's issuer identifier: a callback's `iss` must equal it
    # (RFC 9207; mix-up defence, RFC 9700 §4.4).
    issuer: str = ""

    @property
    def effective_refresh_url(self) -> str:
        return self.refresh_url or self.token_url

    @property
    def effective_revoke_auth(self) -> str:
        return self.revoke_auth or self.token_auth

    @property
    def effective_revoke_body_format(self) -> str:
        return self.revoke_body_format or self.body_format


@dataclass(frozen=True)
class ConnectorSpec:
    slug: str
    name: str
    description: str
    categories: tuple[str, ...]
    auth: AuthSpec
    fields: tuple[FieldSpec, ...] = ()
    website: str = ""
    api_docs: str = ""
    api_base_url: str = ""
    api_verify: str = ""
    #: Sent on verify, on authorised sessions and on proxied calls.
    api_headers: dict[str, str] = field(default_factory=dict)
    #: Dotted JSON paths -> the values the verify response must hold.
    api_verify_expect: dict[str, Any] = field(default_factory=dict)
    guide: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, slug: str, data: dict[str, Any]) -> ConnectorSpec:
        """Build from data that :func:`validate` has already accepted."""
        auth = dict(data.get("auth", {}))
        auth["scopes"] = tuple(auth.get("scopes", ()))
        auth["invalid_grant_errors"] = tuple(auth.get("invalid_grant_errors", ()))
        api = data.get("api", {})
        return cls(
            slug=slug,
            name=data["name"],
            description=data.get("description", ""),
            categories=tuple(data.get("categories", ())),
            auth=AuthSpec(**auth),
            fields=tuple(_field_spec(f) for f in data.get("fields", ())),
            website=data.get("website", ""),
            api_docs=data.get("api_docs", ""),
            api_base_url=api.get("base_url", ""),
            api_verify=api.get("verify", ""),
            api_headers=dict(api.get("headers", {})),
            api_verify_expect=dict(api.get("verify_expect", {})),
            guide=dict(data.get("guide", {})),
        )

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
        match = VERIFY_RE.match(self.api_verify)
        return (match.group(1), match.group(2)) if match else None


def _field_spec(data: dict[str, Any]) -> FieldSpec:
    """A FieldSpec from stored field data (`from` is a Python keyword: `capture_from`)."""
    data = dict(data)
    capture_from = data.pop("from", "")
    return FieldSpec(**data, capture_from=capture_from)


def dotted_get(data: Any, path: str) -> Any:
    """`data["a"]["b"]` for the path "a.b"; None where the path does not lead anywhere."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


# The end of a pattern that fixes the host's domain: at least two literal labels (or a
# group of literal alternatives, like Zoho's `\.(com|eu|com\.au)`) right before `$`.
_LABEL = r"[a-z0-9-]+(?:\\\.[a-z0-9-]+)*"
HOST_SUFFIX_RE = re.compile(
    rf"(?:\\\.(?:[a-z0-9-]+|\((?:\?:)?{_LABEL}(?:\|{_LABEL})*\))){{2,}}\$$")


def _has_top_level_alternation(pattern: str) -> bool:
    depth, index, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        index += 1
    return False


def anchors_https_host(pattern: str) -> bool:
    """Whether every value `pattern` fully matches is `https://` on a fixed domain.

    Together with the bare-origin check at sign-in (connectors/templating.py) this keeps a
    captured base URL on the provider's own domain.
    """
    return (pattern.startswith("^https://") and not _has_top_level_alternation(pattern)
            and bool(HOST_SUFFIX_RE.search(pattern)))


# --- validation ------------------------------------------------------------------------


def _check_type(source: str, key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    bool_allowed = kind is bool or (isinstance(kind, tuple) and bool in kind)
    if not isinstance(value, kind) or (not bool_allowed and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CatalogError(source, key, f"must be a {names}")


def _check_text(source: str, key: str, value: Any, *, max_length: int = 2000) -> None:
    _check_type(source, key, value, str)
    if not value.strip():
        raise CatalogError(source, key, "must not be empty")
    if len(value) > max_length or "\x00" in value:
        raise CatalogError(source, key, f"must be at most {max_length} characters of text")


def _check_placeholders(source: str, key: str, value: str, field_keys: set[str]) -> None:
    for name in PLACEHOLDER_RE.findall(value):
        if name not in field_keys and name not in BUILTIN_PLACEHOLDERS:
            raise CatalogError(source, key, f"refers to {{{name}}}, which is not a field")


def _check_url(source: str, key: str, value: Any, field_keys: set[str],
               origin_keys: frozenset[str] = frozenset()) -> None:
    """An https URL template; only a captured origin (or `{public_url}`) may start it."""
    _check_text(source, key, value, max_length=500)
    _check_placeholders(source, key, value, field_keys)
    for name in PLACEHOLDER_RE.findall(value):
        if name in origin_keys and not value.startswith(f"{{{name}}}"):
            raise CatalogError(source, key, f"may use {{{name}}} (a whole URL) only at its start")
    first = PLACEHOLDER_RE.match(value)
    if first:
        name = first.group(1)
        if name != "public_url" and name not in origin_keys:
            raise CatalogError(source, key, f"may start with {{{name}}} only when it is a "
                                            "captured field whose pattern anchors an https host")
        if value[first.end():first.end() + 1] not in ("", "/"):
            raise CatalogError(source, key, "must continue with '/' after its base URL")
        return
    parts = urlsplit(PLACEHOLDER_RE.sub("x", value))
    if parts.scheme != "https" or not parts.hostname:
        raise CatalogError(source, key, "must be an https:// URL")
    if parts.username or parts.password:
        raise CatalogError(source, key, "must not contain a user name or password")


def _check_keys(source: str, prefix: str, table: dict[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise CatalogError(source, f"{prefix}{key}", "is not a known key")


def _validate_fields(source: str, fields: Any) -> list[dict[str, Any]]:
    _check_type(source, "fields", fields, list)
    seen: set[str] = set()
    cleaned = []
    for index, item in enumerate(fields):
        where = f"fields[{index}]"
        _check_type(source, where, item, dict)
        _check_keys(source, f"{where}.", item, FIELD_KEYS)
        for required in ("key", "label"):
            if required not in item:
                raise CatalogError(source, f"{where}.{required}", "is required")
        key = item["key"]
        _check_type(source, f"{where}.key", key, str)
        if not FIELD_KEY_RE.match(key):
            raise CatalogError(source, f"{where}.key", "must be lower_snake_case")
        if key in seen:
            raise CatalogError(source, f"{where}.key", f"duplicate field {key!r}")
        seen.add(key)
        _check_text(source, f"{where}.label", item["label"], max_length=100)
        if "help" in item:
            _check_type(source, f"{where}.help", item["help"], str)
        level = item.get("level", "partner")
        if level not in LEVELS:
            raise CatalogError(source, f"{where}.level", f"must be one of {', '.join(LEVELS)}")
        for flag in ("secret", "required"):
            if flag in item:
                _check_type(source, f"{where}.{flag}", item[flag], bool)
        if "pattern" in item:
            _check_type(source, f"{where}.pattern", item["pattern"], str)
            try:
                re.compile(item["pattern"])
            except re.error as exc:
                raise CatalogError(source, f"{where}.pattern", f"is not a regex: {exc}") from exc
            if backtracks(item["pattern"]):
                raise CatalogError(source, f"{where}.pattern", "nests a repetition (or an "
                                   "alternation) inside a repetition, which can backtrack "
                                   "for minutes on a hostile value: rewrite it flat")
        _validate_captured(source, where, item, level)
        _validate_choices(source, where, item)
        cleaned.append({**item, "level": level})
    return cleaned


def _validate_captured(source: str, where: str, item: dict[str, Any], level: str) -> None:
    """`from` belongs to captured fields, which need it and an anchored pattern."""
    if level != "captured":
        if "from" in item:
            raise CatalogError(source, f"{where}.from", "is only for level = 'captured'")
        return
    if not isinstance(item.get("from"), str) or not CAPTURE_RE.match(item["from"]):
        raise CatalogError(source, f"{where}.from",
                           "is required: 'token.<path>' or 'callback.<parameter>'")
    pattern = item.get("pattern", "")
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise CatalogError(source, f"{where}.pattern",
                           "is required for captured values, anchored with ^ and $")
    if item.get("secret") or "choices" in item:
        raise CatalogError(source, f"{where}.level", "captured values are non-secret facts, "
                                                     "not secrets or choices")


def _validate_choices(source: str, where: str, item: dict[str, Any]) -> None:
    if "choices" not in item:
        return
    choices = item["choices"]
    _check_type(source, f"{where}.choices", choices, dict)
    if not choices:
        raise CatalogError(source, f"{where}.choices", "must list at least one choice")
    for label, value in choices.items():
        _check_text(source, f"{where}.choices", label, max_length=100)
        _check_type(source, f"{where}.choices", value, str)
        if not CHOICE_VALUE_RE.match(value):
            raise CatalogError(source, f"{where}.choices", f"{label!r} must map to a host name "
                                                           "or a plain name")
    if len(set(choices.values())) != len(choices):
        raise CatalogError(source, f"{where}.choices", "maps two labels to the same value")
    if item.get("secret"):
        raise CatalogError(source, f"{where}.secret", "a choice is not a secret")


def backtracks(pattern: str) -> bool:
    """True when `pattern` can backtrack catastrophically: a variable repetition holding
    another variable one (an optional part too) or an alternation: `(a+)+`, `(\\w+\\s?)*`,
    `(a?a?)+`, `(a|ab)+`. Fixed counts (`(?:[0-9a-f]{4}-){3}`) and character sets are fine.

    Python's `re` has no time limit, so such patterns are refused when the catalogue is
    loaded; what is left runs in polynomial time over values the forms cap in length.
    """
    return _nested(sre_parse.parse(pattern), repeated=False)


_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def _nested(items: Any, *, repeated: bool) -> bool:
    for op, av in items:
        if op in _REPEATS:
            low, high, body = av
            if low != high and repeated:
                return True
            inner = [(body, repeated or (low != high and high > 1))]
        elif op is sre.BRANCH:
            if repeated:
                return True
            inner = [(branch, False) for branch in av[1]]
        elif op is sre.SUBPATTERN:
            inner = [(av[3], repeated)]
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            inner = [(av[1], repeated)]
        elif op is sre.ATOMIC_GROUP:
            inner = [(av, repeated)]
        elif op is sre.GROUPREF_EXISTS:
            inner = [(branch, repeated) for branch in av[1:] if branch is not None]
        else:
            continue
        if any(_nested(sub, repeated=flag) for sub, flag in inner):
            return True
    return False


def _validate_auth(source: str, auth: Any, field_keys: set[str],
                   origin_keys: frozenset[str]) -> None:
    _check_type(source, "auth", auth, dict)
    _check_keys(source, "auth.", auth, AUTH_KEYS)
    auth_type = auth.get("type")
    if auth_type not in AUTH_TYPES:
        raise CatalogError(source, "auth.type", f"must be one of {', '.join(AUTH_TYPES)}")
    for key in REQUIRED_URLS.get(auth_type, ()):
        if key not in auth:
            raise CatalogError(source, f"auth.{key}", f"is required for {auth_type}")
    for key in (*URL_KEYS, "issuer"):
        if key in auth:
            _check_url(source, f"auth.{key}", auth[key], field_keys, origin_keys)
    for key in REQUIRED_FIELDS.get(auth_type, ()):
        if key not in field_keys:
            raise CatalogError(source, "fields", f"a field with key {key!r} is required")
    if "scopes" in auth:
        _check_type(source, "auth.scopes", auth["scopes"], list)
        for scope in auth["scopes"]:
            _check_type(source, "auth.scopes", scope, str)
    for key in ("scope_separator", "header", "prefix", "query_param"):
        if key in auth:
            _check_type(source, f"auth.{key}", auth[key], str)
    if "pkce" in auth:
        _check_type(source, "auth.pkce", auth["pkce"], bool)
    if auth.get("token_auth", "client_secret_post") not in TOKEN_AUTH:
        raise CatalogError(source, "auth.token_auth", f"must be one of {', '.join(TOKEN_AUTH)}")
    for key in ("authorize_params", "token_params", "refresh_params"):
        if key in auth:
            _check_params(source, f"auth.{key}", auth[key], field_keys)
    _validate_token_handling(source, auth, field_keys)
    if auth_type == "api_key":
        if bool(auth.get("header")) == bool(auth.get("query_param")):
            raise CatalogError(source, "auth.header", "api_key needs exactly one of header or "
                                                       "query_param")


def _check_params(source: str, key: str, params: Any, field_keys: set[str]) -> None:
    _check_type(source, key, params, dict)
    for value in params.values():
        _check_type(source, key, value, str)
        _check_placeholders(source, key, value, field_keys)


def _check_choice(source: str, key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise CatalogError(source, key, f"must be one of {', '.join(allowed)}")


OAUTH2_ONLY = ("token_params", "refresh_params", "body_format", "revoke_auth", "revoke_method",
               "revoke_body_format", "default_expires_in", "access_token_path", "token_type",
               "invalid_grant_errors")
OAUTH1_ONLY = ("signature_method", "realm")
TOKEN_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,30}$")
ERROR_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")


def _validate_token_handling(source: str, auth: dict[str, Any], field_keys: set[str]) -> None:
    """The keys real providers need around the token, refresh and revoke requests."""
    auth_type = auth["type"]
    applies = {"oauth1": OAUTH1_ONLY, "oauth2": OAUTH2_ONLY,
               "oauth2_client_credentials": OAUTH2_ONLY}.get(auth_type, ())
    for key in (*OAUTH1_ONLY, *OAUTH2_ONLY):
        if key in auth and key not in applies:
            raise CatalogError(source, f"auth.{key}", f"does not apply to {auth_type}")
    for key in ("body_format", "revoke_body_format"):
        if key in auth:
            _check_choice(source, f"auth.{key}", auth[key], BODY_FORMATS)
    if "revoke_auth" in auth:
        _check_choice(source, "auth.revoke_auth", auth["revoke_auth"], TOKEN_AUTH)
    if "revoke_method" in auth:
        _check_choice(source, "auth.revoke_method", auth["revoke_method"], REVOKE_METHODS)
    if "signature_method" in auth:
        _check_choice(source, "auth.signature_method", auth["signature_method"],
                      SIGNATURE_METHODS)
    if "default_expires_in" in auth:
        seconds = auth["default_expires_in"]
        _check_type(source, "auth.default_expires_in", seconds, int)
        if not 60 <= seconds <= 366 * 86400:
            raise CatalogError(source, "auth.default_expires_in",
                               "must be seconds between 60 and a year")
    if "access_token_path" in auth:
        _check_type(source, "auth.access_token_path", auth["access_token_path"], str)
        if not DOTTED_PATH_RE.match(auth["access_token_path"]):
            raise CatalogError(source, "auth.access_token_path", "must be a dotted path like "
                                                                 "'authed_user.access_token'")
    if "token_type" in auth:
        _check_type(source, "auth.token_type", auth["token_type"], str)
        if not TOKEN_TYPE_RE.match(auth["token_type"]):
            raise CatalogError(source, "auth.token_type", "must be a token type like 'Bearer'")
    if "invalid_grant_errors" in auth:
        codes = auth["invalid_grant_errors"]
        _check_type(source, "auth.invalid_grant_errors", codes, list)
        if not all(isinstance(code, str) and ERROR_CODE_RE.match(code) for code in codes):
            raise CatalogError(source, "auth.invalid_grant_errors",
                               "must list OAuth error codes like 'invalid_grant'")
    if "realm" in auth:
        _check_text(source, "auth.realm", auth["realm"], max_length=200)
        _check_placeholders(source, "auth.realm", auth["realm"], field_keys)


def _validate_headers(source: str, headers: Any, field_keys: set[str], auth_type: str) -> None:
    """`[api] headers`: one line of text each, with `{key}` placeholders naming fields.

    A placeholder may name a secret (a developer token is sent to the provider, never shown)
    but not a credential the method moves out of the values (`api_key`, `password`).
    """
    _check_type(source, "api.headers", headers, dict)
    moved = CREDENTIAL_FIELDS.get(auth_type, ())
    for name, value in headers.items():
        key = f"api.headers.{name}"
        if not HEADER_NAME_RE.match(name) or name.lower() in RESERVED_HEADERS:
            raise CatalogError(source, key, "is not a header this table may set")
        _check_text(source, key, value, max_length=500)
        plain = PLACEHOLDER_RE.sub("", value)
        if HEADER_CONTROL_RE.search(value) or "{" in plain or "}" in plain:
            raise CatalogError(source, key, "must be one line of plain text with {field} "
                                            "placeholders only")
        for placeholder in PLACEHOLDER_RE.findall(value):
            if placeholder not in field_keys:
                raise CatalogError(source, key, f"refers to {{{placeholder}}}, which is not "
                                                "a field")
            if placeholder in moved:
                raise CatalogError(source, key, f"may not use {{{placeholder}}}: {auth_type} "
                                                "sends it as the credentials")


def _validate_api(source: str, api: Any, field_keys: set[str],
                  origin_keys: frozenset[str], auth_type: str) -> None:
    _check_type(source, "api", api, dict)
    _check_keys(source, "api.", api, API_KEYS)
    if "base_url" in api:
        _check_url(source, "api.base_url", api["base_url"], field_keys, origin_keys)
    if "verify" in api:
        _check_type(source, "api.verify", api["verify"], str)
        if not VERIFY_RE.match(api["verify"]):
            raise CatalogError(source, "api.verify", "must look like 'GET /path'")
        if "base_url" not in api:
            raise CatalogError(source, "api.base_url", "is required when api.verify is set")
        path = api["verify"].split(" ", 1)[1]
        if not path.startswith("/"):  # a whole URL, checked like the others
            _check_url(source, "api.verify", path, field_keys, origin_keys)
    _validate_headers(source, api.get("headers", {}), field_keys, auth_type)
    expect = api.get("verify_expect", {})
    _check_type(source, "api.verify_expect", expect, dict)
    if expect and "verify" not in api:
        raise CatalogError(source, "api.verify", "is required when api.verify_expect is set")
    for path, value in expect.items():
        if not DOTTED_PATH_RE.match(path):
            raise CatalogError(source, f"api.verify_expect.{path}", "must be a dotted path")
        _check_type(source, f"api.verify_expect.{path}", value, (str, bool, int))


def validate(source: str, slug: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check one parsed catalogue file; return the data to store (with defaults filled)."""
    if not SLUG_RE.match(slug):
        raise CatalogError(source, "(file name)", "must be lower-case letters, digits and '-'")
    _check_keys(source, "", data, TOP_KEYS)
    for key in ("name", "description"):
        if key not in data:
            raise CatalogError(source, key, "is required")
    _check_text(source, "name", data["name"], max_length=100)
    _check_text(source, "description", data["description"], max_length=500)
    categories = data.get("categories", [])
    _check_type(source, "categories", categories, list)
    for category in categories:
        _check_text(source, "categories", category, max_length=50)
    fields = _validate_fields(source, data.get("fields", []))
    field_keys = {f["key"] for f in fields}
    for key in ("website", "api_docs"):
        if key in data:
            _check_url(source, key, data[key], set())
    if "auth" not in data:
        raise CatalogError(source, "auth", "is required")
    origin_keys = frozenset(f["key"] for f in fields
                            if f["level"] == "captured" and anchors_https_host(f["pattern"]))
    _validate_auth(source, data["auth"], field_keys, origin_keys)
    _validate_api(source, data.get("api", {}), field_keys, origin_keys, data["auth"]["type"])
    guide = data.get("guide", {})
    _check_type(source, "guide", guide, dict)
    _check_keys(source, "guide.", guide, GUIDE_KEYS)
    for key, value in guide.items():
        _check_type(source, f"guide.{key}", value, str)
    return {**data, "fields": fields}


def load_file(path: Path) -> tuple[str, dict[str, Any]]:
    """Parse and validate one catalogue file; return (slug, data)."""
    source = path.name
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(source, "(syntax)", str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(source, "(encoding)", "is not UTF-8") from exc
    return path.stem, validate(source, path.stem, data)


def load_catalog(directory: Path = CATALOG_DIR) -> dict[str, dict[str, Any]]:
    """Every catalogue file in `directory`, validated, keyed by slug."""
    paths = sorted(directory.glob("*.toml")) if directory.is_dir() else []
    if not paths:
        # A mistyped --catalog must not read as "every connector was removed" and retire all.
        raise CatalogError(str(directory), "(directory)", "contains no catalogue files (*.toml)")
    return dict(load_file(path) for path in paths)
