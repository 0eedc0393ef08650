"""The OpenAPI schema: valid without warnings, honoured by every endpoint (schemathesis,
bounded), and the docs page served from this server under the CSP."""

from __future__ import annotations

from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from accounts.models import Account
from installs.models import Install
from tests.factories import catalogue_connector

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


def test_schema_validates_without_warnings():
    """`spectacular --validate --fail-on-warn` passes (CI runs it too)."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null",
                 stdout=StringIO())


def test_every_operation_documents_its_errors():
    """Each operation describes 401, 403 and 429 as problem details, and a summary."""
    raw = schema.raw_schema
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), (method, path)
            for code in ("401", "403", "429"):
                assert "application/problem+json" in operation["responses"][code]["content"]


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: a request schemathesis sends through the WSGI app must not
    close the test's database connection (on PostgreSQL that ends the test transaction)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def world(partner, key_token, sandbox_transport, keep_test_connection):
    """Some rows for generated calls to find: an account and an authenticated install."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    Install.objects.create(account=account, connector=catalogue_connector("sandbox-api-key"),
                           status=Install.Status.AUTHENTICATED,
                           credentials={"api_key": "fake-key-sec-1"},
                           authenticated_at=timezone.now())
    return key_token[1]


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, world):
    """Generated requests with a valid key: never a 5xx, every answer as documented (the
    proxy's answers are the provider's own, whatever their type)."""
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    if case.operation.path.startswith("/api/v1/proxy/"):
        checks = [not_a_server_error]
    case.call_and_validate(headers={"Authorization": f"Bearer {world}"}, checks=checks)


def test_docs_page_loads_from_this_server_under_the_csp(client):
    """/api/docs/ uses only this server's static files and scripts; the CSP stays 'self'."""
    page = client.get("/api/docs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<script>" not in html and "<style>" not in html  # nothing inline
    assert "cdn" not in html.lower() and "https://" not in html
    csp = dict(d.strip().split(" ", 1) for d in page["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == csp["style-src"] == csp["default-src"] == "'self'"
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "/api/v1/schema/" in script.content.decode()


def test_schema_endpoint_is_public_yaml(client):
    """The schema is served without a key (it describes, it discloses nothing)."""
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200 and b"Hatchway partner API" in response.content
