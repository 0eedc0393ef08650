"""The `[auth]` table: the shared keys (auth_base.py) and each mode's keys and rules
(auth_<mode>.py), composed."""

from __future__ import annotations

from connectors.schema.auth_discovery import DiscoveryKeys
from connectors.schema.auth_hosts import TokenHeadersKeys
from connectors.schema.auth_jwt import JwtKeys
from connectors.schema.auth_jwt_bearer import JwtBearerKeys
from connectors.schema.base import APPLIES, REQUIRED_URLS, At, rules


# Pydantic collects fields and rules along the reversed MRO: AuthBase, TokenHeadersKeys,
# JwtBearerKeys, DiscoveryKeys, JwtKeys, then AuthSpec's own rule -- the order of the keys
# in catalog.schema.json and of the rules' checks (the first refusal is the one reported).
class AuthSpec(JwtKeys, DiscoveryKeys, JwtBearerKeys, TokenHeadersKeys):
    # No docstring: it would become the schema's description of [auth].
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


URL_KEYS = tuple(key for key in AuthSpec.model_fields if key.endswith("_url"))
