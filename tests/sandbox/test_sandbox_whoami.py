"""The sandbox's whoami endpoint with an API key or HTTP Basic, and its refusals."""

from __future__ import annotations

import base64

from .conftest import ME, whoami


def basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


def test_api_key_header(client, sandbox_user):
    """X-API-Key with the user's key → 200 with who it is."""
    response = whoami(client, **{"X-API-Key": "fake-api-key-123"})
    assert response.status_code == 200
    assert response.json() == {"id": sandbox_user.pk, "username": "sandy", "auth": "api_key"}


def test_api_key_query_parameter(client, sandbox_user):
    """The key may also come as ?api_key= (connectors that put keys in the query)."""
    response = client.get(f"{ME}?api_key=fake-api-key-123")
    assert response.status_code == 200 and response.json()["auth"] == "api_key"


def test_wrong_api_key_is_401(client, sandbox_user):
    """A wrong or empty key → 401 JSON error with a WWW-Authenticate challenge."""
    for key in ("fake-api-key-124", ""):
        response = whoami(client, **{"X-API-Key": key})
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_basic_credentials(client, sandbox_user):
    """HTTP Basic username:password → 200."""
    response = whoami(client, Authorization=basic("sandy:fake-password-123"))
    assert response.status_code == 200
    assert response.json() == {"id": sandbox_user.pk, "username": "sandy", "auth": "basic"}


def test_wrong_basic_credentials_are_401(client, sandbox_user):
    """Wrong password, unknown user, no colon or broken base64 → 401, never a 500."""
    for header in (basic("sandy:wrong-password"), basic("nobody:fake-password-123"),
                   basic("sandy"), "Basic !!!not-base64!!!", "Basic " + "\u00e9"):
        response = whoami(client, Authorization=header)
        assert response.status_code == 401, header


def test_demo_user_without_password_cannot_use_basic(client, db):
    """The on-demand "demo-user" has no password, so Basic with an empty one fails."""
    from sandbox.services import acting_user

    acting_user()
    assert whoami(client, Authorization=basic("demo-user:")).status_code == 401


def test_no_or_unknown_credentials_are_401(client, sandbox_user):
    """No credentials, an unknown scheme or an unknown Bearer token → 401 JSON."""
    responses = [client.get(ME), whoami(client, Authorization="Digest username=sandy"),
                 whoami(client, Authorization="Bearer not-a-real-token")]
    for response in responses:
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert response.json()["error_description"]
