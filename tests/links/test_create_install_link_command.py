"""`manage.py create_install_link`: prints a working URL; clear errors for bad input."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from links import services as links
from links.models import InstallLink
from tests.factories import account, connector


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_install_link", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


@pytest.fixture
def acct(partner):
    return account(partner)


def test_prints_a_link_for_every_configured_connector(acct, partner):
    """With no --connector the link offers everything configured, for 60 minutes."""
    crm = connector("crm-one", "CRM One", partner)
    desk = connector("desk", "Desk", partner, kind="api_key")
    connector("not-set-up", "Not Set Up")
    url = run("cust-1")
    token = re.fullmatch(r"http://testserver/install/([A-Za-z0-9_-]{43})/", url).group(1)
    link = links.find_link(token)
    assert link.account == acct
    assert set(link.connectors.all()) == {crm, desk}
    assert token not in str(InstallLink.objects.values_list())


def test_connector_and_expiry_options(acct, partner):
    """--connector chooses connectors, --expires the lifetime in minutes."""
    crm = connector("crm-one", "CRM One", partner)
    connector("desk", "Desk", partner, kind="api_key")
    url = run("cust-1", "--connector", "crm-one", "--expires", "15")
    link = links.find_link(url.rstrip("/").rsplit("/", 1)[1])
    assert list(link.connectors.all()) == [crm]
    assert 14 * 60 < (link.expires_at - link.created_at).total_seconds() <= 15 * 60


def test_ambiguous_external_id_needs_partner(acct, partner, other_partner):
    """An external id at two partners is refused without --partner, accepted with it."""
    account(other_partner, "Globex customer", "cust-1")
    connector("crm-one", "CRM One", partner)
    with pytest.raises(CommandError, match="--partner"):
        run("cust-1")
    assert run("cust-1", "--partner", "acme").startswith("http://testserver/install/")
    assert InstallLink.objects.get().account == acct


@pytest.mark.parametrize("args,message", [
    (["nobody"], "No account"),
    (["cust-1", "--partner", "globex"], "No account"),
    (["cust-1", "--connector", "no-such"], "Unknown or not configured"),
    (["cust-1", "--connector", "not-set-up"], "Unknown or not configured"),
    (["cust-1", "--expires", "0"], "--expires"),
    (["cust-1", "--expires", "10081"], "--expires"),
    (["cust-1", "--return-url", "//evil.com"], "return URL"),
])
def test_errors(acct, partner, other_partner, args, message):
    """Unknown account, connector, bad expiry or return URL: a clear error and no link."""
    connector("crm-one", "CRM One", partner)
    connector("not-set-up", "Not Set Up")
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not InstallLink.objects.exists()


def test_no_configured_connector(acct):
    """A partner with nothing configured gets an explanation, not an empty link."""
    with pytest.raises(CommandError, match="no configured connector"):
        run("cust-1")
