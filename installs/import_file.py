"""Importing existing connections from a JSON-lines file (`manage.py import_installs`).

One line, one connection:
`{"account": {"external_id", "name"}, "connector", "name"?, "credentials", "values"?,
"scopes"?}`. Missing accounts are created. An install is identified by (account, connector,
name): a line whose install exists updates it, and one whose install already holds what it
imports is left alone (so running a file twice changes nothing). Each line is imported as
the API imports (installs/importing.py); a bad line is reported by its number and reason
and the others go on. The file is read a line at a time, each line at most MAX_LINE long.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError

from accounts.models import Account, Partner
from connectors.auth.base import AuthError
from connectors.models import Connector
from installs import importing
from installs.accounts import DuplicateExternalId, create_account
from installs.models import Install
from installs.values import SavedSettings

log = logging.getLogger("hatchway.auth")

#: The longest line read (a line holds a few tokens and values: a few KB).
MAX_LINE = 256 * 1024
ACTOR_LABEL = "import_installs command"
FAILED = "failed"


class LineError(Exception):
    """A line that cannot be imported; the message names no secret."""


@dataclass
class FileImport:
    """One run over a file: the partner, whether to verify, and the counts so far."""

    partner: Partner
    verify: bool = True

    def __post_init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.saved = SavedSettings()  # the partner's settings, read once per connector

    def line(self, text: str | None) -> str:
        """Import one line; its outcome (`importing.Outcome`) or FAILED with LineError."""
        try:
            outcome: str = self._import(text)
        except LineError:
            self.counts[FAILED] += 1
            raise
        self.counts[outcome] += 1
        return outcome

    def _import(self, text: str | None) -> importing.Outcome:
        if text is None:
            raise LineError(f"longer than {MAX_LINE // 1024} KB")
        data = parse(text)
        try:
            connector = self._connector(data["connector"])
            account = self._account(data["account"])
            request = importing.check(account=account, connector=connector,
                                      name=data["name"], values=data["values"],
                                      credentials=with_scopes(data), saved=self.saved)
            existing = (Install.objects.filter(account=account, connector=connector,
                                               name=request.name).order_by("pk").first())
            if existing is not None and importing.unchanged(existing, request):
                return importing.Outcome.UNCHANGED
            importing.import_install(request, actor=None, actor_label=ACTOR_LABEL,
                                     verify=self.verify, existing=existing, saved=self.saved)
        except importing.InvalidImport as error:
            raise LineError(str(error)) from None
        except AuthError as error:
            raise LineError(error.message) from None
        except ValidationError as error:
            raise LineError(" ".join(error.messages)) from None
        return importing.Outcome.UPDATED if existing else importing.Outcome.CREATED

    def _connector(self, slug: str) -> Connector:
        connector = Connector.objects.active(self.partner).filter(slug=slug).first()
        if connector is None:
            raise LineError(f"no connector {slug!r}")
        return connector

    def _account(self, data: dict[str, str]) -> Account:
        external_id = data["external_id"]
        account = (Account.objects.filter(partner=self.partner).by_external_id(external_id)
                   .select_related("partner").first())
        if account is not None:
            return account
        try:
            return create_account(partner=self.partner, name=data["name"] or external_id,
                                  external_id=external_id, actor=None,
                                  actor_label=ACTOR_LABEL)
        except DuplicateExternalId:
            raise LineError("the account was created meanwhile; run the line again") from None


def parse(text: str) -> dict[str, Any]:
    """A line's fields, their types checked (LineError naming the field, never a value)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise LineError("not valid JSON") from None
    if not isinstance(data, dict):
        raise LineError("not a JSON object")
    account = data.get("account")
    if not isinstance(account, dict) or not isinstance(account.get("external_id"), str) \
            or not isinstance(account.get("name", ""), str):
        raise LineError("account must be an object with a text external_id (and name)")
    checks: dict[str, tuple[type, Any]] = {
        "connector": (str, None), "name": (str, ""), "credentials": (dict, None),
        "values": (dict, {}), "scopes": (list, [])}
    parsed: dict[str, Any] = {"account": {"external_id": account["external_id"],
                                          "name": account.get("name", "")}}
    for key, (kind, default) in checks.items():
        value = data.get(key, default)
        if not isinstance(value, kind):
            raise LineError(f"{key} is {'missing' if value is None else 'of the wrong type'}")
        parsed[key] = value
    unknown = sorted(set(data) - set(checks) - {"account"})
    if unknown:
        raise LineError(f"unknown key: {', '.join(unknown)}")
    if not all(isinstance(v, str) for v in parsed["values"].values()):
        raise LineError("values must be text")
    if not all(isinstance(s, str) and s and " " not in s for s in parsed["scopes"]):
        raise LineError("scopes must be a list of scope tokens")
    return parsed


def with_scopes(data: dict[str, Any]) -> dict[str, Any]:
    """The credentials, with the line's `scopes` as their granted scope where they give
    none (OAuth 2.0 only: the others have no scope)."""
    credentials = dict(data["credentials"])
    if data["scopes"] and "scope" not in credentials and \
            ("access_token" in credentials or "refresh_token" in credentials):
        credentials["scope"] = " ".join(data["scopes"])
    return credentials


def read_lines(stream: IO[str], max_length: int = MAX_LINE) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each non-blank line, None for one longer than `max_length`
    (skipped without holding it in memory)."""
    number = 0
    while chunk := stream.readline(max_length + 1):
        number += 1
        if len(chunk) > max_length:
            while chunk and not chunk.endswith("\n"):
                chunk = stream.readline(max_length + 1)
            yield number, None
        elif chunk.strip():
            yield number, chunk
