"""In Chromium: with work due and no background worker passing, admins see the banner; once
a worker has passed, it is gone."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import Membership, Partner, User
from core import heartbeat
from core.health import WORKER_MISSING_KEY
from installs.accounts import create_account

EMAIL = "admin@banner.test"
PASSWORD = "fake-banner-password-5521"
BANNER = "Background worker not running: tokens are not refreshed and webhooks are not sent."


@pytest.mark.browser
def test_banner_while_no_worker_passes(page, live_server, transactional_db, settings):
    from playwright.sync_api import expect

    settings.PUBLIC_URL = live_server.url
    cache.delete(WORKER_MISSING_KEY)
    partner = Partner.objects.create(name="Acme Cloud", slug="acme")
    user = User.objects.create_user(email=EMAIL, password=PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.ADMIN)
    # An account.created event now waits for the relay: work is due.
    create_account(partner=partner, name="Initech", external_id="cust-42", actor=user)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/accounts/")
    expect(page.get_by_text(BANNER)).to_be_visible()

    heartbeat.beat(heartbeat.worker_name("worker"))
    cache.delete(WORKER_MISSING_KEY)  # each process keeps its answer a minute
    page.goto(f"{live_server.url}/accounts/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text(BANNER)).to_have_count(0)
