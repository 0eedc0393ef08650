"""Helpers for the API tests: keys, clients that send them, JSON calls."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from accounts.models import Partner
from api import services
from api.models import ApiKey, Scope

ALL_SCOPES = tuple(Scope.values)


def make_key(partner: Partner, *scopes: str, name: str = "Backend") -> tuple[ApiKey, str]:
    return services.create_key(partner=partner, name=name, scopes=scopes or ALL_SCOPES,
                               actor=None)


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Send `body` as JSON; return the status and the decoded answer (None when empty)."""
    response = getattr(client, method)(path, json.dumps(body) if body is not None else None,
                                       content_type="application/json")
    return response.status_code, response.json() if response.content else None


def assert_problem(response, status: int) -> None:
    """An RFC 9457 problem with this status, as the API answers every refusal."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["type"].startswith("urn:hatchway:problem:")
    assert problem["title"] and problem["detail"]
