"""Sandbox fixtures: a registered OAuth 2.0 client, an OAuth 1.0a consumer, a user, and
small helpers that walk the consent page the way a browser would."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from sandbox import services

CALLBACK = "http://testserver/connectors/callback"
AUTHORIZE = "/sandbox/oauth2/authorize"
TOKEN = "/sandbox/oauth2/token"
REVOKE = "/sandbox/oauth2/revoke"
ME = "/sandbox/api/me"
VERIFIER = "fake-code-verifier-" + "x" * 40


@dataclass
class Registered:
    client_id: str
    secret: str


@pytest.fixture
def oauth2_client(db) -> Registered:
    return Registered(*services.register_client(name="Hatchway Test App", redirect_uri=CALLBACK))


@pytest.fixture
def pkce_client(db) -> Registered:
    return Registered(*services.register_client(name="Strict App", redirect_uri=CALLBACK,
                                                require_pkce=True))


@pytest.fixture
def consumer(db) -> Registered:
    return Registered(*services.register_client(name="Hatchway OAuth1 App", redirect_uri=CALLBACK,
                                                kind="oauth1"))


@pytest.fixture
def sandbox_user(db):
    return services.create_user(username="sandy", password="fake-password-123",
                                api_key="fake-api-key-123")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def query(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def authorize_url(client_id: str, **extra: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
              "scope": "read write", "state": "fake-state-abc", **extra}
    return f"{AUTHORIZE}?{urlencode(params)}"


def consent(client: Client, url: str, decision: str = "allow"):
    """Show the consent page, then press a button on it (as the form does: POST, same URL)."""
    page = client.get(url)
    assert page.status_code == 200, page.content
    return client.post(url, {"decision": decision})


def get_code(client: Client, client_id: str, **extra: str) -> str:
    response = consent(client, authorize_url(client_id, **extra))
    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK + "?")
    return query(response["Location"])["code"]


def form_post(client: Client, path: str, data: dict[str, str], **headers: str):
    """POST an application/x-www-form-urlencoded body, as OAuth clients do."""
    return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded",
                       headers=headers)


def token_request(client: Client, registered: Registered, **data: str):
    """A token request authenticated with client_secret_post."""
    return form_post(client, TOKEN, {"client_id": registered.client_id,
                                     "client_secret": registered.secret, **data})


def exchange(client: Client, registered: Registered, code: str, verifier: str | None = VERIFIER):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier is not None:
        data["code_verifier"] = verifier
    return token_request(client, registered, **data)


def whoami(client: Client, **headers: str):
    return client.get(ME, headers=headers)
