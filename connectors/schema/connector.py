"""A connector entry: its keys (connector_base.py) and each mode's rules
(connector_<mode>.py), composed."""

from __future__ import annotations

from typing import Any

from connectors.schema.base import (
    BUILTIN_PLACEHOLDERS,
    CREDENTIAL_FIELDS,
    PLACEHOLDER_RE,
    REQUIRED_FIELDS,
    STORED,
    At,
    _check_refs,
    _check_url_refs,
    rules,
)
from connectors.schema.connector_app_installation import AppInstallationRules
from connectors.schema.connector_discovery import DiscoveryRules
from connectors.schema.connector_hosts import HostsRules
from connectors.schema.connector_jwt import JwtRules
from connectors.schema.connector_jwt_bearer import JwtBearerRules


class _References(DiscoveryRules):
    """The rule every entry is checked by: fields and placeholders."""

    @rules
    def _references(self) -> None:
        """Every placeholder names a declared field, and only an https origin starts a URL."""
        keys = [f.key for f in self.fields]
        for index, key in enumerate(keys):
            if key in keys[:index]:
                raise At(f"fields[{index}].key", f"duplicate field {key!r}")
        self._server_url_field()
        dynamic = self.auth.registration == "dynamic"
        for key in () if dynamic else REQUIRED_FIELDS.get(self.auth.type, ()):
            if key == "client_secret" and self.auth.token_auth == "private_key_jwt":
                continue  # the private key authenticates the client instead
            if key not in keys:
                raise At("fields", f"a field with key {key!r} is required")
        origins = {f.key for f in self.fields if f.is_origin or f.is_base_url}
        for where, url in (("website", self.website), ("api_docs", self.api_docs)):
            _check_url_refs(where, url, set(), set())
        for where, url in self._urls():
            _check_url_refs(where, url, {*keys}, origins)
        for where, text in self._texts():
            _check_refs(where, text, {*keys, *BUILTIN_PLACEHOLDERS})
        self._captures_name_captured_fields()
        moved = CREDENTIAL_FIELDS.get(self.auth.type, ())
        for name, value in self.api.headers.items():
            _check_refs(f"api.headers.{name}", value, {*keys})
            for ref in {*PLACEHOLDER_RE.findall(value)} & {*moved}:
                raise At(f"api.headers.{name}",
                         f"may not use {{{ref}}}: {self.auth.type} sends it as the credentials")


# Rules run along the reversed MRO: ConnectorBase, HostsRules, _References (with
# DiscoveryRules), AppInstallationRules, JwtBearerRules, JwtRules -- the first refusal is the
# one reported.
class ConnectorSpec(JwtRules, JwtBearerRules, AppInstallationRules, _References, HostsRules):
    @classmethod
    def from_data(cls, slug: str, data: dict[str, Any]) -> ConnectorSpec:
        """Rebuild from stored data (`connector.spec`, on request paths): its types are
        checked again, its rules are not -- they held when it was stored and may have grown."""
        spec = cls.model_validate(data, context=STORED)
        spec._slug = slug
        return spec
