"""API fixtures: keys for alice's partner (Acme) and mallory's (Globex), and clients that
send them."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from api.models import ApiKey
from tests.api.helpers import bearer, make_key


@pytest.fixture(autouse=True)
def fresh_throttle():
    """Each test starts with untouched rate counters (they live in the default cache)."""
    cache.clear()


@pytest.fixture
def key_token(partner) -> tuple[ApiKey, str]:
    return make_key(partner)


@pytest.fixture
def api(key_token) -> Client:
    """A client with a key of every scope for Acme."""
    return bearer(key_token[1])


@pytest.fixture
def other_api(other_partner) -> Client:
    """A client with a key of every scope for Globex."""
    return bearer(make_key(other_partner, name="Globex backend")[1])
