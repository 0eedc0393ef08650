"""Extra headers on OAuth 2.0 token requests (issue 21 §6)."""

from __future__ import annotations

from pydantic import Field

from connectors.schema.auth_base import AuthBase
from connectors.schema.base import API_TOKEN_TYPES, At, HeaderName, HeaderValue, rules


class TokenHeadersKeys(AuthBase):
    """`[auth] token_headers`: OAuth 2.0 modes only."""

    token_headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    """OAuth 2.0 modes: extra headers on the token, refresh and revoke requests
    (`{field}` placeholders allowed)."""

    @rules
    def _token_headers_apply(self) -> None:
        if self.token_headers and self.type not in API_TOKEN_TYPES:
            raise At("token_headers", f"does not apply to {self.type}")
