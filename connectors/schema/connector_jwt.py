"""jwt (issue 21 §3): the entry's rules."""

from __future__ import annotations

from connectors.schema.base import _check_refs, rules
from connectors.schema.connector_base import ConnectorBase


class JwtRules(ConnectorBase):
    """Claims and header name fields; the private key only signs."""

    @rules
    def _self_signed_references(self) -> None:
        """Claims and header name fields; the key is a secret that only signs."""
        if self.auth.type != "jwt":
            return
        keys = {f.key for f in self.fields}
        for name, value in self.auth.claims.items():
            _check_refs(f"auth.claims.{name}", value, keys)
        for name, value in self.auth.jwt_header.items():
            _check_refs(f"auth.jwt_header.{name}", value, keys)
        self._private_key_is_secret()
        self._key_only_signs()
