"""jwt_bearer renewal by concurrent workers on PostgreSQL (row locks): one assertion and
one token request per due install, however many workers run.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway pytest tests/connectors -k concurrency
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

from accounts.models import Account
from installs import refresh
from installs.models import Install
from sandbox import services as sandbox
from sandbox.models import SandboxToken
from tests.api.helpers import bearer, call, make_key
from tests.connectors.jwt_keys import pem, public_pem, rsa_key
from tests.connectors.test_auth_jwt_bearer import EMAIL, make_due
from tests.factories import catalogue_connector
from tests.installs.test_refresh_concurrency import in_thread, slow_sandbox  # noqa: F401

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL for row locks (SELECT … FOR UPDATE SKIP LOCKED): "
                              "set DATABASE_URL=postgres://…"),
]


def test_two_workers_renew_a_service_account_install_once(transactional_db, partner,
                                                           sandbox_transport, slow_sandbox):  # noqa: F811
    cache.clear()
    catalogue_connector("sandbox-jwt-bearer")
    sandbox.register_service_account(issuer=EMAIL, public_key=public_pem(rsa_key()),
                                     username="robot")
    Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    slow_sandbox.delay = 0.0
    code, body = call(bearer(make_key(partner)[1]), "post", "/api/v1/accounts/cust-1/installs", {
        "connector": "sandbox-jwt-bearer", "values": {"client_email": EMAIL,
                                                      "private_key": pem(rsa_key())}})
    assert code == 201, body
    install = Install.objects.get()
    old = install.credentials["access_token"]
    make_due(install)
    slow_sandbox.calls, slow_sandbox.delay = [], 1.0
    slow_sandbox.in_flight.clear()  # set by the install's own calls
    first, first_result = in_thread(refresh.run_pass)
    assert slow_sandbox.in_flight.wait(5)  # the first worker holds the row, mid-call
    second, second_result = in_thread(refresh.run_pass)  # skips the locked row
    for thread in (first, second):
        thread.join(15)
    assert (first_result, second_result) == ([{refresh.REFRESHED: 1}], [{}])
    assert len(slow_sandbox.calls) == 1  # one assertion, one token request
    assert SandboxToken.objects.filter(grant_type="jwt_bearer").count() == 2
    assert Install.objects.get().credentials["access_token"] != old
