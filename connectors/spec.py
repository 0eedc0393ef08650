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
LEVELS = ("partner", "account")
TOKEN_AUTH = ("client_secret_post", "client_secret_basic")
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
             "authorize_params", "header", "prefix", "query_param"}
API_KEYS = {"base_url", "verify"}
FIELD_KEYS = {"key", "label", "help", "level", "secret", "required", "pattern"}
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

    @property
    def is_partner_level(self) -> bool:
        return self.level == "partner"


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

    @property
    def effective_refresh_url(self) -> str:
        return self.refresh_url or self.token_url


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
    guide: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, slug: str, data: dict[str, Any]) -> ConnectorSpec:
        """Build from data that :func:`validate` has already accepted."""
        auth = dict(data.get("auth", {}))
        auth["scopes"] = tuple(auth.get("scopes", ()))
        api = data.get("api", {})
        return cls(
            slug=slug,
            name=data["name"],
            description=data.get("description", ""),
            categories=tuple(data.get("categories", ())),
            auth=AuthSpec(**auth),
            fields=tuple(FieldSpec(**f) for f in data.get("fields", ())),
            website=data.get("website", ""),
            api_docs=data.get("api_docs", ""),
            api_base_url=api.get("base_url", ""),
            api_verify=api.get("verify", ""),
            guide=dict(data.get("guide", {})),
        )

    @property
    def partner_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.is_partner_level)

    @property
    def account_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if not f.is_partner_level)

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def verify_request(self) -> tuple[str, str] | None:
        """(method, path) of the request that proves credentials work, if any."""
        match = VERIFY_RE.match(self.api_verify)
        return (match.group(1), match.group(2)) if match else None


# --- validation ------------------------------------------------------------------------


def _check_type(source: str, key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
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


def _check_url(source: str, key: str, value: Any, field_keys: set[str]) -> None:
    _check_text(source, key, value, max_length=500)
    _check_placeholders(source, key, value, field_keys)
    if value.startswith("{public_url}"):
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
            raise CatalogError(source, f"{where}.level", "must be 'partner' or 'account'")
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
        cleaned.append({**item, "level": level})
    return cleaned


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


def _validate_auth(source: str, auth: Any, field_keys: set[str]) -> None:
    _check_type(source, "auth", auth, dict)
    _check_keys(source, "auth.", auth, AUTH_KEYS)
    auth_type = auth.get("type")
    if auth_type not in AUTH_TYPES:
        raise CatalogError(source, "auth.type", f"must be one of {', '.join(AUTH_TYPES)}")
    for key in REQUIRED_URLS.get(auth_type, ()):
        if key not in auth:
            raise CatalogError(source, f"auth.{key}", f"is required for {auth_type}")
    for key in URL_KEYS:
        if key in auth:
            _check_url(source, f"auth.{key}", auth[key], field_keys)
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
    if "authorize_params" in auth:
        _check_type(source, "auth.authorize_params", auth["authorize_params"], dict)
        for value in auth["authorize_params"].values():
            _check_type(source, "auth.authorize_params", value, str)
            _check_placeholders(source, "auth.authorize_params", value, field_keys)
    if auth_type == "api_key":
        if bool(auth.get("header")) == bool(auth.get("query_param")):
            raise CatalogError(source, "auth.header", "api_key needs exactly one of header or "
                                                       "query_param")


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
    _validate_auth(source, data["auth"], field_keys)
    api = data.get("api", {})
    _check_type(source, "api", api, dict)
    _check_keys(source, "api.", api, API_KEYS)
    if "base_url" in api:
        _check_url(source, "api.base_url", api["base_url"], field_keys)
    if "verify" in api:
        _check_type(source, "api.verify", api["verify"], str)
        if not VERIFY_RE.match(api["verify"]):
            raise CatalogError(source, "api.verify", "must look like 'GET /path'")
        if "base_url" not in api:
            raise CatalogError(source, "api.base_url", "is required when api.verify is set")
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
