"""jwt (issue 21 §3): a self-signed token sent as it is, no token endpoint."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from connectors.schema.auth_jwt_bearer import JwtBearerKeys
from connectors.schema.base import (
    CLAIM_NAME_RE,
    JWT_SELF_SET_CLAIMS,
    JWT_SET_HEADER,
    At,
    Text500,
    _one_line,
    rule,
    rules,
)


class JwtKeys(JwtBearerKeys):
    """The jwt keys of `[auth]` and their rules (`algorithm` and `claims` are shared with
    jwt_bearer)."""

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
