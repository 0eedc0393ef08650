"""Discovery and dynamic registration: the entry's rules on its fields."""

from __future__ import annotations

from connectors.schema.base import At
from connectors.schema.connector_base import ConnectorBase
from connectors.schema.fields import FieldSpec


class DiscoveryRules(ConnectorBase):
    """The server_url field of protected_resource discovery."""

    def _server_url_field(self) -> None:
        """discovery = "protected_resource" asks for exactly one server_url field."""
        found = [f for f in self.fields if f.kind == "server_url"]
        if self.auth.discovery == "protected_resource" and len(found) + bool(
                self.auth.server_url) != 1:
            raise At("fields", "protected_resource discovery needs auth.server_url or "
                               "exactly one field with kind = 'server_url' (not both)")
        if found and self.auth.discovery != "protected_resource":
            raise At("fields", "a kind = 'server_url' field needs auth.discovery = "
                               "'protected_resource'")
        if self.auth.registration == "dynamic":
            for key in ("client_id", "client_secret"):
                if key in {f.key for f in self.fields}:
                    raise At("fields", f"{key!r} comes from the dynamic registration")

    @property
    def server_url_field(self) -> FieldSpec | None:
        return next((f for f in self.fields if f.kind == "server_url"), None)
