"""app_installation renewals by concurrent workers on PostgreSQL (row locks): one exchange
per due install. SQLite has no row locks, so this runs on PostgreSQL only:
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/hatchway pytest tests/installs/…`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from installs import refresh
from installs.models import Install
from sandbox import apps_flow
from sandbox.services import acting_user
from tests.factories import callback_for, catalogue_connector, save_settings
from tests.installs.test_refresh_concurrency import in_thread, slow_sandbox  # noqa: F401

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL for row locks (SELECT … FOR UPDATE SKIP LOCKED): "
                              "set DATABASE_URL=postgres://…"),
]

SLUG = "sandbox-github-app"


def test_two_workers_renew_an_installation_token_once(transactional_db, partner,
                                                      slow_sandbox):  # noqa: F811
    app, private_key = apps_flow.register_app(name="Acme app", slug="acme-app",
                                              setup_url=callback_for(SLUG))
    connector = catalogue_connector(SLUG)
    save_settings(partner, connector, {"app_id": str(app.pk), "app_slug": app.slug},
                  {"private_key": private_key})
    installation = apps_flow.install(app, acting_user())
    issued = apps_flow.issue_installation_token(app, str(installation.pk))
    assert issued is not None
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(
        account=account, connector=connector, name="Repos",
        status=Install.Status.AUTHENTICATED, values={"installation_id": str(installation.pk)},
        credentials={"access_token": issued[0]},
        expires_at=timezone.now() + timedelta(seconds=30), authenticated_at=timezone.now())
    first, first_result = in_thread(refresh.run_pass)
    assert slow_sandbox.in_flight.wait(5)  # the first worker holds the row, mid-exchange
    second, second_result = in_thread(refresh.run_pass)  # skips the locked row
    for thread in (first, second):
        thread.join(15)
    assert (first_result, second_result) == ([{refresh.REFRESHED: 1}], [{}])
    exchanges = [c for c in slow_sandbox.calls if c.url.endswith("/access_tokens")]
    assert len(exchanges) == 1  # exactly one upstream exchange
    stored = Install.objects.get(pk=install.pk)
    assert stored.credentials["access_token"] != issued[0]
    assert apps_flow.installation_token(stored.credentials["access_token"]) is not None
    assert refresh.run_pass() == {}  # nothing due any more
    assert AuditEvent.objects.filter(action="install.refreshed", install=install).count() == 1
