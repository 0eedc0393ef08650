"""jwt_bearer (issue 21 §2): the entry's rules."""

from __future__ import annotations

from connectors.schema.base import (
    BUILTIN_PLACEHOLDERS,
    JWT_SCOPES_PLACEHOLDER,
    PRIVATE_KEY_FIELD,
    At,
    _check_refs,
    rules,
)
from connectors.schema.connector_base import ConnectorBase


class JwtBearerRules(ConnectorBase):
    """Claims and audience name fields; the private key only signs."""

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
