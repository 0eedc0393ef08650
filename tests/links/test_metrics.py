"""Install links in `/metrics`: openings (once per browser session) and completions."""

from __future__ import annotations

import pytest
from django.urls import reverse
from prometheus_client import REGISTRY

from installs.models import AuthAttempt, Install
from links import browser as link_browser
from tests.factories import account, connector, make_link

pytestmark = pytest.mark.django_db


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0


def test_an_opening_counts_once_per_browser_session(client, partner):
    """Two visits of one browser: one opening; a second browser: another."""
    _, token = make_link(account(partner), [connector("crm-one", "CRM One", partner)])
    before = sample("hatchway_install_link_opens_total")
    for browser in (client, client, type(client)()):
        browser.get(reverse("install:landing", args=[token]))
    assert sample("hatchway_install_link_opens_total") == before + 2


@pytest.mark.parametrize("outcome,label", [("connected", "connected"), ("cancelled", "cancelled"),
                                           ("bogus", "error")])
def test_a_completion_counts_by_outcome(client, partner, rf, outcome, label):
    """finish_link counts the outcome the customer saw (an unknown word counts as error)."""
    acct, crm = account(partner), connector("crm-one", "CRM One", partner)
    link, _ = make_link(acct, [crm])
    install = Install.objects.create(account=acct, connector=crm)
    attempt = AuthAttempt.objects.create(install=install, session_hash="x", install_link=link,
                                         expires_at=link.expires_at)
    request = rf.get("/connectors/callback")
    request.session = client.session
    before = sample("hatchway_install_link_completions_total", {"outcome": label})
    link_browser.finish_link_attempt(request, attempt, outcome, "")
    assert sample("hatchway_install_link_completions_total", {"outcome": label}) == before + 1
