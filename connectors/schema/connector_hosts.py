"""Customer-typed hosts, token headers and lookups (issue 21 §6): the entry's rules."""

from __future__ import annotations

from connectors.schema.base import (
    API_TOKEN_TYPES,
    PLACEHOLDER_RE,
    At,
    _check_refs,
    _check_url_refs,
    rules,
)
from connectors.schema.connector_base import ConnectorBase


class HostsRules(ConnectorBase):
    """Token headers, private_key_jwt and post-connection lookups, across the entry."""

    @rules
    def _hosts_rules(self) -> None:
        if self.api.sends_token_its_own_way and self.auth.type not in API_TOKEN_TYPES:
            raise At("api.token_header", f"does not apply to {self.auth.type}: only to "
                                         "OAuth 2.0 modes")
        if "private_key_jwt" in (self.auth.token_auth, self.auth.revoke_auth):
            self._private_key_jwt_rules()
        keys = {f.key for f in self.fields}
        origins = {f.key for f in self.fields if f.is_origin or f.is_base_url}
        for name, value in self.auth.token_headers.items():
            _check_refs(f"auth.token_headers.{name}", value, keys)
        captured = {f.key for f in self.captured_fields}
        later = set(self.post_connection_keys)
        base_refs = set(PLACEHOLDER_RE.findall(self.api.base_url))
        for index, lookup in enumerate(self.post_connection):
            where = f"post_connection[{index}]"
            for key in lookup.capture:
                if key not in captured:
                    raise At(f"{where}.capture.{key}", "names no field with level = 'captured'")
                if key in self.auth.captures:
                    raise At(f"{where}.capture.{key}", "is captured twice")
            uses = base_refs if lookup.url.startswith("/") else set(
                PLACEHOLDER_RE.findall(lookup.url))
            if lookup.url.startswith("/") and not self.api.base_url:
                raise At(f"{where}.request", "a path needs [api] base_url")
            if not lookup.url.startswith("/"):
                _check_url_refs(f"{where}.request", lookup.url, keys, origins)
            for key in sorted(uses & later):
                raise At(f"{where}.request", f"uses {{{key}}} before a lookup captures it")
            later -= set(lookup.capture)

    def _private_key_jwt_rules(self) -> None:
        """RFC 7523 §2.2 client authentication: OAuth 2.0 modes, with a secret private key."""
        if self.auth.type not in API_TOKEN_TYPES:
            raise At("auth.token_auth", f"private_key_jwt does not apply to {self.auth.type}")
        key = self.field("private_key")
        if key is None or not key.secret or key.level != "partner":
            raise At("fields", "private_key_jwt needs a field with key 'private_key', "
                               "secret and partner-level")
