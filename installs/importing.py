"""Importing existing connections: credentials obtained elsewhere (another platform, an
in-house implementation) become an authenticated install, without asking the customer to
consent again.

Like a sign-in without a browser (installs/signin.py `create_authenticated_install`), the
provider is asked before anything is written: an access token that is missing or expired
is refreshed first, through the workers' refresh request (installs/refresh.py), exactly
once; then the connector's verify request runs. Only when the provider accepts are the
install, its "Install imported" audit event and its authenticated transition (whose webhook
says `"imported": true`) written, in one transaction. A refusal raises the AuthError and
leaves nothing. Imported token values pass the checks token responses pass (size, control
characters, a bearer token type) and imported captured values their fields' patterns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Account
from audit import events as audit
from connectors.auth import post_connection
from connectors.auth.base import (
    AuthError,
    AuthMethod,
    Credentials,
    ErrorKind,
    is_acceptable_captured,
    no_unexpected_errors,
)
from connectors.auth.oauth2 import credentials_from_token
from connectors.auth.tokens import check_tokens, public_info, sane_expires_in
from connectors.forms import KEY_FILE
from connectors.models import Connector
from installs.forms import InstallForm
from installs.installing import save_new_install, unsaved_install
from installs.models import Install
from installs.refresh import refreshed_credentials
from installs.signin import drop_entered_credentials
from installs.values import MissingValues, SavedSettings, Setup, readable

log = logging.getLogger("hatchway.auth")

OAUTH2_KEYS = frozenset({"access_token", "refresh_token", "expires_at", "expires_in", "scope",
                         "token_type"})
OAUTH1_KEYS = frozenset({"oauth_token", "oauth_token_secret"})
#: The auth types whose imported credentials are tokens; the others' are values.
TOKEN_TYPES = {"oauth2": OAUTH2_KEYS, "oauth1": OAUTH1_KEYS}
LABEL = "The imported credentials"


class InvalidImport(ValueError):
    """Input that cannot be imported, before the provider is asked: `errors` by key
    ("name", "values.<key>", "credentials"), never holding a value."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class ImportRequest:
    """One connection to import, its input checked (`check`)."""

    account: Account
    connector: Connector
    name: str
    values: dict[str, str]       # entered (account-level) values
    captured: dict[str, str]     # captured values (e.g. instance_url)
    credentials: dict[str, Any]  # as given: tokens, or {} for keys and passwords
    scopes: list[str] | None = None  # the install's own (checked scope-tokens), if given


# --- checking the input ------------------------------------------------------------------


def check(*, account: Account, connector: Connector, name: str = "",
          values: dict[str, Any] | None = None, credentials: dict[str, Any] | None = None,
          saved: SavedSettings | None = None) -> ImportRequest:
    """The request, or InvalidImport naming each problem (the console's rules for entered
    values, the sign-in's for captured ones, the token responses' for tokens)."""
    values = dict(values or {})
    credentials = dict(credentials or {})
    errors: dict[str, list[str]] = {}
    captured_fields = {f.key: f for f in connector.spec.captured_fields}
    captured: dict[str, str] = {}
    for key in sorted(set(values) & set(captured_fields)):
        value = values.pop(key)
        spec_field = captured_fields[key]
        value = value.lower() if isinstance(value, str) and spec_field.is_origin else value
        if not isinstance(value, str) or not is_acceptable_captured(spec_field, value):
            errors[f"values.{key}"] = [f"Enter a valid {spec_field.label}."]
        else:
            captured[key] = value
    form = InstallForm({"install_name": name, **values}, connector=connector,
                       partner=account.partner, saved=saved)
    for key in sorted(set(values) - {f.key for f in form.asked}
                      - ({KEY_FILE} & set(form.fields))):  # jwt_bearer's pasted key file
        errors[f"values.{key}"] = ["This connector asks for no such value."]
    if not form.is_valid():
        for key, messages in form.errors.items():
            errors["name" if key == "install_name" else f"values.{key}"] = [
                str(m) for m in messages]
    try:
        check_credentials(connector.auth_type, credentials)
    except AuthError as error:
        errors["credentials"] = [error.message]
    if errors:
        raise InvalidImport(errors)
    return ImportRequest(account=account, connector=connector, name=form.install_name,
                         values=form.field_values(), captured=captured,
                         credentials=credentials)


def check_credentials(auth_type: str, credentials: dict[str, Any]) -> None:
    """The shape and token checks of imported credentials (AuthError, naming no value)."""
    allowed = TOKEN_TYPES.get(auth_type)
    if allowed is None:
        if credentials:
            raise AuthError("This connector's credentials are imported as values, not "
                            "credentials.", kind=ErrorKind.CONFIGURATION)
        return
    unknown = sorted(set(credentials) - allowed)
    if unknown:
        raise AuthError(f"Unknown credential key: {', '.join(unknown)}.",
                        kind=ErrorKind.TOKEN_ERROR)
    if auth_type == "oauth1":
        if not credentials.get("oauth_token") or not credentials.get("oauth_token_secret"):
            raise AuthError("OAuth 1.0a credentials need oauth_token and oauth_token_secret.",
                            kind=ErrorKind.TOKEN_ERROR)
        check_tokens(credentials, tuple(OAUTH1_KEYS), LABEL)
        return
    if not credentials.get("access_token") and not credentials.get("refresh_token"):
        raise AuthError("OAuth 2.0 credentials need an access_token or a refresh_token.",
                        kind=ErrorKind.TOKEN_ERROR)
    check_tokens(credentials, ("access_token", "refresh_token"), LABEL)
    if "expires_at" in credentials and "expires_in" in credentials:
        raise AuthError("Give expires_at or expires_in, not both.", kind=ErrorKind.TOKEN_ERROR)
    if credentials.get("expires_at") is not None:
        expires_at(credentials)
    if credentials.get("expires_in") is not None and \
            sane_expires_in(credentials["expires_in"]) is None:
        raise AuthError("expires_in must be a number of seconds (at most a year).",
                        kind=ErrorKind.TOKEN_ERROR)


def expires_at(credentials: dict[str, Any]) -> datetime | None:
    """When the imported access token expires (None: not said, so not known to)."""
    raw = credentials.get("expires_at")
    if raw is not None:
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
        if parsed is None or parsed.tzinfo is None:
            raise AuthError("expires_at must be an RFC 3339 date and time with its offset.",
                            kind=ErrorKind.TOKEN_ERROR)
        return parsed
    seconds = sane_expires_in(credentials.get("expires_in"))
    return timezone.now() + timedelta(seconds=seconds) if seconds else None


# --- asking the provider -----------------------------------------------------------------


def imported_credentials(method: AuthMethod, given: dict[str, Any]) -> tuple[Credentials, bool]:
    """The credentials to store, and whether they were refreshed: tokens as given (an
    OAuth 2.0 access token missing or expired is refreshed, once, if a refresh token is
    given), or for keys, passwords and client credentials what the method makes of the
    values (as a sign-in without a browser)."""
    if method.type == "oauth1":
        data = {key: given[key] for key in sorted(OAUTH1_KEYS)}
        return Credentials(data=data, info=public_info(given)), False
    if method.type != "oauth2":
        return method.complete(None, {}), False
    expiry = expires_at(given)
    if given.get("access_token") and (expiry is None or expiry > timezone.now()):
        token = {k: v for k, v in given.items() if k not in ("expires_at", "expires_in")}
        credentials = credentials_from_token(token)
        credentials.expires_at = expiry
        return credentials, False
    if not given.get("refresh_token"):
        raise AuthError("The access token has expired and no refresh token was given.",
                        kind=ErrorKind.EXPIRED)
    used = {k: given[k] for k in ("refresh_token", "scope", "token_type") if given.get(k)}
    return refreshed_credentials(method, used), True


def ask_provider(method: AuthMethod, given: dict[str, Any], *, verify: bool
                 ) -> tuple[Credentials, bool]:
    """Refresh where needed, then verify (unless `verify` is False): the credentials and
    whether they were refreshed, or the provider's AuthError."""
    with no_unexpected_errors("The import"):
        credentials, refreshed = imported_credentials(method, given)
        post_connection.run(method, credentials)  # the lookups after import
        if verify:
            method.verify(credentials.data)
    return credentials, refreshed


# --- importing ---------------------------------------------------------------------------


def import_install(request: ImportRequest, *, actor: Any, actor_label: str = "",
                   verify: bool = True, existing: Install | None = None,
                   saved: SavedSettings | None = None) -> Install:
    """Create (or, given `existing`, update) an authenticated install from imported
    credentials -- or raise the provider's AuthError (MissingValues when a required value
    is missing) and write nothing."""
    install = unsaved_install(account=request.account, connector=request.connector,
                              name=request.name, values=request.values, actor=actor,
                              saved=saved, scopes=request.scopes)
    install.values.update(request.captured)
    setup = Setup.of(install, saved=saved)
    missing = setup.missing()
    if missing:
        raise MissingValues(missing)
    method = setup.method()
    try:
        credentials, refreshed = ask_provider(method, request.credentials, verify=verify)
    except AuthError as error:
        log.info("import of %s into account %s refused (%s): nothing saved",
                 request.connector.slug, request.account.pk, error.kind)
        raise
    verified = verify and method.has_verify
    with transaction.atomic():
        if existing is None:
            install = save_new_install(install, actor=actor, actor_label=actor_label)
        else:
            install = _replace_values(existing, install)
        audit.record(audit.Action.INSTALL_IMPORTED, partner=request.account.partner,
                     actor=actor, actor_label=actor_label, install=install,
                     auth_type=method.type, refreshed=refreshed, verified=verified,
                     fields=sorted({*install.values, *install.secret_values}))
        drop_entered_credentials(install, method)
        install.values.update(credentials.captured)
        install.mark_authenticated(credentials=credentials.data,
                                   expires_at=credentials.expires_at,
                                   token_info=credentials.info, actor=actor,
                                   actor_label=actor_label, auth_type=method.type,
                                   verified=verified, imported=True)
    log.info("install %s: imported (%s)", install.pk, "updated" if existing else "created")
    return install


def _replace_values(existing: Install, imported: Install) -> Install:
    """The existing install, locked, holding the imported values."""
    install = Install.objects.for_update().get(pk=existing.pk)
    install.values, install.secret_values = imported.values, imported.secret_values
    install.save(update_fields=["values", "secret_values", "updated_at"])
    return install


def unchanged(existing: Install, request: ImportRequest) -> bool:
    """Whether a working `existing` install already holds what `request` imports (so a
    second run of the same file writes nothing and asks no provider): its values, and the
    tokens given -- only the refresh token where the access token needed refreshing (the
    stored access token is the refreshed one)."""
    if not existing.is_working or existing.credentials_unreadable:
        return False
    wanted = {**request.values, **request.captured}
    stored_values = {**existing.values, **readable(existing.secret_values),
                     **dict(existing.credentials)}
    if any(stored_values.get(k) != v for k, v in wanted.items()):
        return False
    given = {k: v for k, v in request.credentials.items()
             if k in ("access_token", "refresh_token", "oauth_token", "oauth_token_secret")}
    if "refresh_token" in given and _needs_refresh(request.credentials):
        given = {"refresh_token": given["refresh_token"]}
    return all(existing.credentials.get(k) == v for k, v in given.items())


def _needs_refresh(credentials: dict[str, Any]) -> bool:
    try:
        expiry = expires_at(credentials)
    except AuthError:
        return False
    return not credentials.get("access_token") or (expiry is not None
                                                   and expiry <= timezone.now())
