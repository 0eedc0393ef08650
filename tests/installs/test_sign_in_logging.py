"""No token, code, verifier, client secret or API key in the logs, with everything at DEBUG.

caplog's handler sits on the root logger after the settings' console handler, whose
scrub filter rewrites records in place: the test checks what any handler would write."""

from __future__ import annotations

import logging

import pytest

from accounts.models import Account
from connectors.models import PartnerAuthSettings
from installs.models import AuthAttempt, Install
from tests.factories import (
    authenticate,
    catalogue_connector,
    consent,
    install_path,
    new_install,
    path_and_query,
    query,
    sandbox_oauth1,
    sandbox_oauth2,
)

API_KEY = "fake-sandbox-api-key-log-1"


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


def partner_secrets() -> list[str]:
    return [value for row in PartnerAuthSettings.objects.all()
            for value in row.secret_values.values()]


def browser_flow(client, install: Install) -> list[str]:
    """Run one browser flow; return every secret it involved."""
    provider_url = authenticate(client, install)
    attempt = AuthAttempt.objects.filter(install=install).latest("pk")
    found = list(attempt.secrets.values())
    callback = consent(client, provider_url)
    params = query(callback)
    found += [params[key] for key in ("code", "oauth_verifier", "oauth_token") if key in params]
    client.get(path_and_query(callback))
    client.post(install_path(install, "test"))
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    return found + [v for k, v in install.credentials.items() if k not in ("token_type", "scope")]


def test_flows_log_no_secret_at_debug(admin_client, account, sandbox_transport, caplog):
    """OAuth 2.0, OAuth 1.0a and API key flows with the root logger at DEBUG: no secret logged."""
    from sandbox.services import create_user

    caplog.set_level(logging.DEBUG)
    secrets = browser_flow(admin_client, new_install(account, sandbox_oauth2(account.partner)))
    secrets += browser_flow(admin_client, new_install(account, sandbox_oauth1(account.partner)))
    create_user(username="ann", password="fake-sandbox-password-1", api_key=API_KEY)
    keyed = new_install(account, catalogue_connector("sandbox-api-key"),
                        secret_values={"api_key": API_KEY})
    admin_client.post(install_path(keyed, "authenticate"))
    admin_client.post(install_path(keyed, "test"))
    keyed.refresh_from_db()
    assert keyed.status == Install.Status.AUTHENTICATED
    secrets += [API_KEY, *partner_secrets()]
    # Failures log too: a wrong key and a replayed callback.
    wrong = new_install(account, catalogue_connector("sandbox-api-key"),
                        secret_values={"api_key": "fake-wrong-key-log-2"})
    admin_client.post(install_path(wrong, "authenticate"))
    secrets.append("fake-wrong-key-log-2")

    assert len(secrets) >= 12 and all(len(s) >= 8 for s in secrets)
    assert any(r.name == "hatchway.auth" for r in caplog.records)  # capture works
    logged = caplog.text + "".join(str(r.args) + (r.exc_text or "") for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
