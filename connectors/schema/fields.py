"""The `[[fields]]` of a connector, and the optional scopes it offers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from connectors.patterns import anchors_https_host, compiled
from connectors.schema.base import (
    CAPTURE_RE,
    At,
    ChoiceValue,
    ScopeToken,
    Text100,
    Text500,
    _Model,
    rule,
    rules,
)


class OptionalScope(_Model):
    """A scope Authentication Settings and installs may add to the defaults."""

    scope: ScopeToken
    description: Text500


class FieldSpec(_Model):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    label: Text100
    help: str = ""
    level: Literal["partner", "account", "captured"] = "partner"
    """partner: Authentication Settings; account: asked at install; captured: from sign-in."""
    secret: bool = False
    required: bool = True
    pattern: Annotated[str, rule(compiled)] = ""
    """Matched with RE2 against the whole value (connectors/patterns.py)."""
    capture_from: Annotated[str, Field(alias="from", pattern=CAPTURE_RE.pattern)] = ""
    """level "captured": where the value comes from ("token.instance_url", "callback.realmId")."""
    choices: Annotated[dict[Text100, ChoiceValue], Field(min_length=1)] = Field(
        default_factory=dict)
    """A select: label -> the value stored and put into URLs."""
    # --- customer-typed hosts (issue 21 §6) ---
    kind: Literal["text", "base_url", "server_url"] = "text"
    """base_url: the full https URL of the customer's own server; `{key}` may start URLs.
    server_url: the whole https URL of an MCP server the customer enters (level "account");
    `auth.discovery = "protected_resource"` finds its authorization server."""
    allowed_hosts: Annotated[str, rule(compiled)] = ""
    """kind base_url: an RE2 pattern (^...$) the server's host name must match."""

    @rules
    def _base_url_rules(self) -> None:
        if self.kind != "base_url":
            if self.allowed_hosts:
                raise At("allowed_hosts", "is only for kind = 'base_url'")
            return
        if self.is_captured or self.secret or self.choices:
            raise At("kind", "a base URL is typed in: not captured, secret or a choice")
        if self.allowed_hosts and not (self.allowed_hosts.startswith("^")
                                       and self.allowed_hosts.endswith("$")):
            raise At("allowed_hosts", "must be anchored with ^ and $")

    @property
    def is_base_url(self) -> bool:
        """A customer-typed https URL of their own server (connectors/hosts.py)."""
        return self.kind == "base_url"
    # --- end customer-typed hosts ---

    @rules
    def _level_rules(self) -> None:
        if self.kind == "server_url" and (self.level != "account" or self.secret
                                          or self.choices):
            raise At("kind", "a server_url field is a non-secret account-level text field")
        if self.choices and self.secret:
            raise At("secret", "a choice is not a secret")
        if len(set(self.choices.values())) < len(self.choices):
            raise At("choices", "maps two labels to the same value")
        if not self.is_captured:
            if "capture_from" in self.model_fields_set:
                raise At("from", "is only for level = 'captured'")
        elif not (self.pattern.startswith("^") and self.pattern.endswith("$")):
            raise At("pattern", "is required for captured values, anchored with ^ and $")
        elif self.secret or self.choices:
            raise At("level", "captured values are non-secret facts, not secrets or choices")

    @property
    def is_partner_level(self) -> bool:
        return self.level == "partner"

    @property
    def is_captured(self) -> bool:
        """Filled from the sign-in (token response or callback), never asked."""
        return self.level == "captured"

    @property
    def is_origin(self) -> bool:
        """A captured value that is a whole https origin (it may start a URL)."""
        return self.is_captured and anchors_https_host(self.pattern)
