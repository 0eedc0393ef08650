"""The connector entry's keys, and the helpers its rules share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, StringConstraints

from connectors.schema.api import ApiSpec, PostConnection
from connectors.schema.auth import URL_KEYS, AuthSpec
from connectors.schema.base import (
    _TEXT,
    LAX,
    PLACEHOLDER_RE,
    PRIVATE_KEY_FIELD,
    VERIFY_RE,
    At,
    Text100,
    Text500,
    Url,
    _Model,
)
from connectors.schema.fields import FieldSpec


class ConnectorBase(_Model):
    """A connector's keys and the helpers its rules share; the rules are mixins composed into
    ConnectorSpec (connectors/schema/connector.py)."""

    name: Text100
    description: Text500
    categories: Annotated[tuple[Annotated[str, StringConstraints(max_length=50), _TEXT], ...],
                          LAX] = ()
    website: Url = ""
    api_docs: Url = ""
    variant_of: Annotated[str, StringConstraints(pattern=r"^([a-z0-9]+(-[a-z0-9]+)*)?$")] = ""
    """The slug of the connector this entry is a regional or sandbox copy of: a copy of the
    same app at the provider, kept for the installs that use it, listed in docs/connectors.md
    and not counted (connectors/coverage.py)."""
    fields: Annotated[tuple[FieldSpec, ...], LAX] = ()
    auth: AuthSpec
    api: ApiSpec = Field(default_factory=ApiSpec)
    guide: dict[Literal["requirements", "credentials", "account_setup"], str] = Field(
        default_factory=dict)
    post_connection: Annotated[tuple[PostConnection, ...], LAX] = ()
    """Lookups after sign-in and import (connectors/auth/post_connection.py)."""
    _slug: str = PrivateAttr("")

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

    @property
    def post_connection_keys(self) -> tuple[str, ...]:
        """The captured field keys the post-connection lookups fill, in order."""
        return tuple(key for lookup in self.post_connection for key in lookup.capture)

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
