"""jwt_bearer (issue 21 §2): a signed assertion bought at token_url (RFC 7523 §2.1)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from connectors.schema.auth_base import AuthBase
from connectors.schema.base import (
    CLAIM_NAME_RE,
    JWT_SET_CLAIMS,
    At,
    Dotted,
    Text500,
    _one_line,
    rule,
    rules,
)


class JwtBearerKeys(AuthBase):
    """The jwt_bearer keys of `[auth]` and their rules."""

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
