"""The `[api]` table and the `[[post_connection]]` lookups (issue 21 §6)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, WrapValidator, field_validator

from connectors.schema.base import (
    LOOKUP_RE,
    VERIFY_RE,
    At,
    Dotted,
    HeaderName,
    Text500,
    TokenHeader,
    TokenPrefix,
    Url,
    _header_value,
    _Model,
    _scalar,
    _url,
    checked,
    rule,
    rules,
)


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
