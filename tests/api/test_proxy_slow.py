"""The proxy against a real (local) provider socket: a trickling provider is cut off at
the request's deadline (504), a compressed bomb is refused (413) while it is decoded."""

from __future__ import annotations

import gzip
import time

import pytest
from django.utils import timezone

from accounts.models import Account
from api.models import Scope
from connectors import http
from installs.models import Install
from tests.api.helpers import bearer, make_key
from tests.factories import make_connector, save_settings
from tests.slow_server import Script, slow_server


@pytest.fixture(autouse=True)
def real_transport(monkeypatch, settings):
    settings.ALLOW_LOCAL_PROVIDERS = True
    monkeypatch.setattr(http, "transport", http.default_transport)


def proxied(partner, base: str, settings) -> tuple[object, Install]:
    settings.PUBLIC_URL = base  # the one way a catalogue base URL may be plain http
    connector = make_connector("slow-api", {
        "name": "Slow API", "description": "A provider on a local socket.",
        "auth": {"type": "api_key", "header": "X-API-Key"},
        "api": {"base_url": "{public_url}/v1"},
        "fields": [{"key": "api_key", "label": "API key", "level": "account",
                    "secret": True}],
    })
    save_settings(partner, connector)
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account, connector=connector,
                                     status=Install.Status.AUTHENTICATED,
                                     credentials={"api_key": "fake-key-slow"},
                                     authenticated_at=timezone.now())
    return bearer(make_key(partner, Scope.PROXY)[1]), install


def test_a_provider_trickling_its_headers_is_cut_off_with_504(partner, settings):
    """OUTBOUND_TIMEOUT bounds the whole call, not each byte: 504 in about that time."""
    settings.OUTBOUND_TIMEOUT = 1
    with slow_server(Script(drip_head=True, pause=0.2)) as base:
        api, install = proxied(partner, base, settings)
        started = time.monotonic()
        response = api.get(f"/api/v1/proxy/{install.pk}/me")
        took = time.monotonic() - started
    assert response.status_code == 504
    assert took < 6  # the provider would take 14 s or more; the API's own work is counted


def test_a_provider_trickling_its_body_is_cut_off(partner, settings):
    """A declared-length answer is streamed as it comes (its status is sent already): the
    stream ends at the deadline, short, instead of lasting as long as the provider likes."""
    settings.OUTBOUND_TIMEOUT = 1
    with slow_server(Script(body=b"x" * 2000, drip_body=True, pause=0.01)) as base:
        api, install = proxied(partner, base, settings)
        started = time.monotonic()
        response = api.get(f"/api/v1/proxy/{install.pk}/me")
        body = b"".join(response.streaming_content)
        took = time.monotonic() - started
    assert len(body) < 2000
    assert took < 6  # the provider would take 14 s or more; the API's own work is counted


def test_a_gzip_bomb_is_refused(partner, settings):
    """A small compressed answer that decodes to far more than PROXY_MAX_BODY: 413, and
    no more than the limit is ever decoded into memory."""
    settings.PROXY_MAX_BODY = 64 * 1024
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    with slow_server(Script(head=head, body=bomb)) as base:
        api, install = proxied(partner, base, settings)
        response = api.get(f"/api/v1/proxy/{install.pk}/export")
    assert len(bomb) < settings.PROXY_MAX_BODY
    assert response.status_code == 413
    assert response.json()["type"] == "urn:hatchway:problem:response_too_large"
