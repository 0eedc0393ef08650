"""SECURITY.md "Logging": every flow with the root logger at DEBUG leaves no secret, code,
token or verifier in the log records -- checked on the RAW records.

The settings' scrub filter sits on the console handler and rewrites records in place, so
plain caplog would only show what survived scrubbing. `raw_logs` takes that filter off
for the test: whatever is left clean was never logged in the first place (loggers that
put request paths into messages scrub at the logger, which is part of what is tested).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from config.log_format import JsonFormatter, TextFormatter
from config.log_scrub import ScrubSecretsFilter
from connectors.models import PartnerAuthSettings
from installs import refresh
from installs.models import AuthAttempt, Install
from links import services as links
from tests.factories import (
    authenticate,
    capture_console,
    catalogue_connector,
    consent,
    install_path,
    new_install,
    path_and_query,
    query,
    sandbox_client_credentials,
    sandbox_oauth1,
    sandbox_oauth2,
)

API_KEY = "fake-sandbox-api-key-raw-1"
PASSWORD = "fake-sandbox-password-raw-1"
SETTINGS_SECRET = "fake-consumer-secret-raw-1"


@pytest.fixture
def raw_logs(caplog, monkeypatch) -> pytest.LogCaptureFixture:
    """caplog at DEBUG on the root logger, with no handler's scrub filter in the way."""
    for handler in logging.getLogger().handlers:
        kept = [f for f in handler.filters if not isinstance(f, ScrubSecretsFilter)]
        monkeypatch.setattr(handler, "filters", kept)
    caplog.set_level(logging.DEBUG)
    return caplog


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every message, argument, exception and stack in the captured records."""
    formatter = logging.Formatter()
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        parts.append(record.exc_text or "")
        parts.append(record.stack_info or "")
    return "\n".join(parts)


def assert_not_logged(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    secrets = [s for s in secrets if s]
    assert all(len(s) >= 8 for s in secrets), "too short to be a meaningful check"
    assert any(r.name.startswith("hatchway.") for r in caplog.records)  # capture works
    text = logged_text(caplog)
    for secret in secrets:
        assert secret not in text, secret


def test_oauth_libraries_are_pinned_to_warning():
    """oauthlib and requests_oauthlib log tokens and client secrets at DEBUG: pinned."""
    for name in ("oauthlib", "requests_oauthlib", "urllib3"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING


@pytest.fixture
def account(partner) -> Account:
    return Account.objects.create(partner=partner, name="Initech", external_id="cust-1")


def browser_flow(client: Client, install: Install) -> list[str]:
    """Authenticate in the sandbox; return every secret involved on the way."""
    provider_url = authenticate(client, install)
    attempt = AuthAttempt.objects.filter(install=install).latest("pk")
    found = [*attempt.secrets.values(), attempt.request_token]
    callback = consent(client, provider_url)
    found += [value for key, value in query(callback).items()
              if key in ("code", "oauth_verifier", "oauth_token")]
    client.get(path_and_query(callback))
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    return found + credential_values(install)


def credential_values(install: Install) -> list[str]:
    return [v for k, v in install.credentials.items() if k not in ("token_type", "scope")]


def partner_secrets() -> list[str]:
    return [value for row in PartnerAuthSettings.objects.all()
            for value in row.secret_values.values()]


def test_console_flows_log_no_secret(admin_client, account, sandbox_transport, raw_logs):
    """Settings save, OAuth 2.0 (+ test, refresh, deauthenticate), OAuth 1.0a, client
    credentials, API key, basic, and their failures: no secret in any raw record."""
    from sandbox.services import create_user

    create_user(username="ann", password=PASSWORD, api_key=API_KEY)
    catalogue_connector("1st-connect")
    saved = admin_client.post("/connectors/1st-connect/settings/", {
        "consumer_key": "fake-consumer-key", "consumer_secret": SETTINGS_SECRET})
    assert saved.status_code == 302
    secrets = [SETTINGS_SECRET, API_KEY, PASSWORD]

    oauth2 = new_install(account, sandbox_oauth2(account.partner))
    secrets += browser_flow(admin_client, oauth2)
    admin_client.post(install_path(oauth2, "test"))
    Install.objects.filter(pk=oauth2.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    oauth2.refresh_from_db()
    refresh.ensure_fresh(oauth2)
    oauth2.refresh_from_db()
    secrets += credential_values(oauth2)
    assert oauth2.last_refreshed_at is not None
    admin_client.post(install_path(oauth2, "deauthenticate"))

    secrets += browser_flow(admin_client, new_install(account, sandbox_oauth1(account.partner)))
    machine = new_install(account, sandbox_client_credentials(account.partner))
    admin_client.post(install_path(machine, "authenticate"))
    machine.refresh_from_db()
    secrets += credential_values(machine)

    for slug, values in [("sandbox-api-key", {"api_key": API_KEY}),
                         ("sandbox-api-key", {"api_key": "fake-wrong-key-raw-2"}),
                         ("sandbox-basic", {"password": PASSWORD}),
                         ("sandbox-basic", {"password": "fake-wrong-password-raw-2"})]:
        plain = {"username": "ann"} if slug == "sandbox-basic" else {}
        install = new_install(account, catalogue_connector(slug), values=plain,
                              secret_values=values)
        admin_client.post(install_path(install, "authenticate"))
        secrets += list(values.values())

    # A forged code at the token endpoint, and refused states, log nothing secret either.
    failing = new_install(account, oauth2.connector)
    state = query(authenticate(admin_client, failing))["state"]
    secrets += list(AuthAttempt.objects.get(state=state).secrets.values())
    back = f"/connectors/{failing.connector.slug}/callback"
    admin_client.get(back, {"code": "fake-forged-code-raw-3", "state": state})
    admin_client.get(back, {"code": "fake-forged-code-raw-4", "state": state})
    admin_client.get(back, {"code": "fake-forged-code-raw-5", "state": "fake-unknown-state-raw"})
    secrets += ["fake-forged-code-raw-3", "fake-forged-code-raw-4", "fake-forged-code-raw-5"]

    secrets += partner_secrets()
    assert len(secrets) >= 25
    assert_not_logged(raw_logs, secrets)


def test_customer_link_flows_log_no_secret(client, account, sandbox_transport, raw_logs):
    """Install-link pages (connect, callback, result, refused, revoked, CSRF failure): the
    link token, code and tokens appear in no raw record."""
    connector = sandbox_oauth2(account.partner)
    link, token = links.create_link(account=account, connectors=[connector])
    client.get(f"/install/{token}/")
    start = client.post(f"/install/{token}/connect/sandbox-oauth2/")
    callback = consent(client, start["Location"])
    code = query(callback)["code"]
    client.get(path_and_query(callback))
    client.get("/install/done/")
    client.get(f"/install/{token}/connect/sandbox-oauth2/")  # GET: 405
    Client(enforce_csrf_checks=True).post(f"/install/{token}/connect/sandbox-oauth2/")  # 403
    links.revoke_link(link=link, actor=None)
    client.get(f"/install/{token}/")  # 410
    install = Install.objects.get(account=account)
    assert install.status == Install.Status.AUTHENTICATED
    assert_not_logged(raw_logs, [token, code, *credential_values(install), *partner_secrets()])


def security_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hatchway.security"]


def test_state_failures_and_foreign_ids_are_security_events(admin_client, other_client, account,
                                                            sandbox_transport, caplog):
    """Refused callbacks and another partner's ids are logged on hatchway.security."""
    caplog.set_level(logging.INFO, logger="hatchway.security")
    install = new_install(account, sandbox_oauth2(account.partner))
    state = query(authenticate(admin_client, install))["state"]
    back = "/connectors/sandbox-oauth2/callback"
    Client().get(back, {"code": "fake-code-x", "state": state})
    admin_client.get(back, {"code": "fake-code-x", "state": state})
    admin_client.get(back, {"code": "fake-code-x", "state": "forged"})
    admin_client.get(back, {"code": "fake-code-x"})
    assert other_client.get(install_path(install)).status_code == 404
    messages = security_messages(caplog)
    assert any("another browser session" in m for m in messages)
    assert any("already used" in m for m in messages)
    assert any("unknown state" in m for m in messages)
    assert any("no state" in m for m in messages)
    assert any("foreign id" in m and "Install" in m for m in messages)
    assert not any(state in m for m in messages)


def test_install_link_refusals_are_security_events(client, account, caplog: Any):
    """Unknown link tokens and objects outside a link are logged, without the token."""
    caplog.set_level(logging.INFO, logger="hatchway.security")
    token = "x" * 43
    client.get(f"/install/{token}/")
    assert any("install link not found" in m for m in security_messages(caplog))
    assert not any(token in m for m in security_messages(caplog))


def written_flows(admin_client: Client, client: Client, account: Account) -> list[str]:
    """A console OAuth 2.0 flow with a refresh, a customer link flow and a failure logged
    with its traceback; return every secret involved."""
    secrets = browser_flow(admin_client, oauth2 := new_install(account,
                                                                sandbox_oauth2(account.partner)))
    Install.objects.filter(pk=oauth2.pk).update(expires_at=timezone.now() + timedelta(seconds=5))
    oauth2.refresh_from_db()
    refresh.ensure_fresh(oauth2)
    oauth2.refresh_from_db()
    secrets += credential_values(oauth2)
    link, token = links.create_link(account=account, connectors=[oauth2.connector])
    client.get(f"/install/{token}/")
    callback = consent(client, client.post(f"/install/{token}/connect/sandbox-oauth2/")["Location"])
    client.get(path_and_query(callback))
    secrets += [token, query(callback)["code"], *partner_secrets()]
    secrets += credential_values(Install.objects.filter(account=account).latest("pk"))
    try:
        raise ValueError("token endpoint said access_token=fake-traceback-token-raw-6")
    except ValueError:
        logging.getLogger("hatchway.auth").exception("refresh failed")
    return [*secrets, "fake-traceback-token-raw-6"]


@pytest.mark.parametrize("formatter", [JsonFormatter, TextFormatter])
def test_written_logs_hold_no_secret_in_either_format(admin_client, client, account,
                                                      sandbox_transport, caplog, monkeypatch,
                                                      formatter):
    """At DEBUG, what the console handler writes -- JSON or text, tracebacks included --
    holds no token, code or secret."""
    caplog.set_level(logging.DEBUG)
    written = capture_console(monkeypatch, formatter())
    secrets = written_flows(admin_client, client, account)
    text = written.getvalue()
    assert "hatchway.auth" in text and "refresh failed" in text  # capture works
    for secret in filter(None, secrets):
        assert len(secret) >= 8 and secret not in text, secret


def test_json_logs_parse_line_by_line(admin_client, client, account, sandbox_transport, caplog,
                                      json_log):
    """LOG_FORMAT=json: every line is one object with time, level, logger and message, and
    request lines carry the request id and the partner's id."""
    caplog.set_level(logging.DEBUG)
    written_flows(admin_client, client, account)
    entries = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert len(entries) >= 6
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert entry["time"].endswith("+00:00") and entry["level"] in (
            "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    in_requests = [e for e in entries if "request_id" in e]
    assert in_requests and {e.get("partner_id") for e in in_requests} >= {account.partner_id}
    failure = next(e for e in entries if e["message"] == "refresh failed")
    assert failure["level"] == "ERROR" and "ValueError" in failure["exception"]
