"""Racing requests with one code or one refresh token: exactly one wins (PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from sandbox import services

from .conftest import exchange, get_code, token_request

WORKERS = 6


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections: run with DATABASE_URL=postgres://…")


def race(send) -> list[int]:
    """Run `send(Client())` in WORKERS threads released at the same moment; status codes."""
    barrier = threading.Barrier(WORKERS)

    def one(_: int) -> int:
        try:
            barrier.wait()
            return send(Client()).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        return sorted(pool.map(one, range(WORKERS)))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_rotate_once(postgres, oauth2_client, sandbox_user):
    """N simultaneous refreshes with one refresh token → one 200, the rest invalid_grant."""
    client = Client()
    tokens = exchange(client, oauth2_client, get_code(client, oauth2_client.client_id),
                      verifier=None).json()
    statuses = race(lambda c: token_request(c, oauth2_client, grant_type="refresh_token",
                                            refresh_token=tokens["refresh_token"]))
    assert statuses == [200] + [400] * (WORKERS - 1)
    assert services.refresh_count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_code_exchanges_issue_once(postgres, oauth2_client, sandbox_user):
    """N simultaneous exchanges of one authorization code → one set of tokens."""
    code = get_code(Client(), oauth2_client.client_id)
    statuses = race(lambda c: exchange(c, oauth2_client, code, verifier=None))
    assert statuses.count(200) == 1
    assert statuses.count(400) == WORKERS - 1
    assert services.issued_count("authorization_code") == 1
