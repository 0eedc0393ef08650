"""two_step: the token request that exchanges the entered credentials for a token."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from connectors.schema.base import (
    At,
    BodyFormat,
    HeaderName,
    HeaderValue,
    _body,
    _Model,
    rule,
    rules,
)


class TokenRequest(_Model):
    """two_step: the request that exchanges the entered credentials for a token."""

    method: Literal["POST", "GET", "PUT"] = "POST"
    body_format: BodyFormat = "json"
    body: Annotated[dict[str, str | dict[str, Any]], rule(_body)] = Field(default_factory=dict)
    """Body members: text with `{field}` placeholders (filled with the entered values as
    they are), or, for JSON, objects of such members (Tableau's `credentials.site`)."""
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)

    @rules
    def _body_fits_its_format(self) -> None:
        if self.body and self.method == "GET":
            raise At("body", "cannot be sent with GET")
        if self.body_format == "form" and any(isinstance(v, dict) for v in self.body.values()):
            raise At("body", "a form body holds text members only, no objects")

    def body_texts(self) -> list[tuple[str, str]]:
        """(dotted name, text) of every text member, nested ones included."""
        return _texts_of(self.body)


def _texts_of(body: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for name, value in body.items():
        if isinstance(value, dict):
            texts.extend(_texts_of(value, f"{prefix}{name}."))
        else:
            texts.append((f"{prefix}{name}", value))
    return texts
