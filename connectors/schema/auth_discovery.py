"""Discovery and dynamic registration of oauth2 (connectors/dynamic.py)."""

from __future__ import annotations

from typing import Literal

from connectors.schema.auth_base import AuthBase
from connectors.schema.base import BUILTIN_PLACEHOLDERS, PLACEHOLDER_RE, At, Url, rules


class DiscoveryKeys(AuthBase):
    """The discovery and registration keys of `[auth]` and their rules."""

    registration: Literal["static", "dynamic"] = "static"
    """oauth2: "dynamic" registers a client at the server's registration endpoint (RFC
    7591), once per partner, issuer and callback URL: no client_id field, nothing to save."""
    discovery: Literal["", "protected_resource"] = ""
    """oauth2: "protected_resource" (MCP servers): the authorization server comes from the
    RFC 9728 metadata of the server URL -- `server_url`, or what the customer enters in the
    field with kind = "server_url" -- and sign-ins and refreshes send `resource=<that URL>`
    (RFC 8707). The proxy's base URL is the server URL."""
    server_url: Url = ""
    """protected_resource: the URL of a provider's own remote MCP server."""

    @property
    def discovers(self) -> bool:
        """oauth2 whose endpoints come from metadata (an issuer, or a protected resource)."""
        return self.type == "oauth2" and (
            self.discovery == "protected_resource"
            or bool(self.issuer and not (self.authorize_url or self.token_url)))

    @rules
    def _discovery_rules(self) -> None:
        for key in ("registration", "discovery"):
            if key in self.model_fields_set and self.type != "oauth2":
                raise At(key, f"does not apply to {self.type}")
        if self.issuer and (self.authorize_url or self.token_url) and not (
                self.authorize_url and self.token_url):
            raise At("token_url", "declare both authorize_url and token_url, or neither "
                                  "(discovered from the issuer)")
        if self.discovery == "protected_resource":
            if set(PLACEHOLDER_RE.findall(self.server_url)) - BUILTIN_PLACEHOLDERS:
                raise At("server_url", "must be a whole https URL (only {public_url} may "
                                       "stand in it)")
            if self.issuer or self.authorize_url or self.token_url or self.revoke_url:
                raise At("discovery", "protected_resource finds the issuer and endpoints: "
                                      "declare none")
            if self.registration != "dynamic":
                raise At("registration", "must be 'dynamic' with protected_resource discovery")
        elif self.server_url:
            raise At("server_url", "needs discovery = 'protected_resource'")
        elif self.registration == "dynamic" and not self.discovers:
            raise At("registration", "'dynamic' needs an issuer (without authorize_url and "
                                     "token_url) or discovery = 'protected_resource'")
