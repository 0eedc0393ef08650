"""The console tells admins when work is due and no background worker has passed."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from core import heartbeat
from core.health import WORKER_MISSING_KEY
from installs.accounts import create_account

BANNER = ("Background worker not running: tokens are not refreshed and webhooks are not "
          "sent.")


@pytest.fixture(autouse=True)
def fresh_answer():
    cache.delete(WORKER_MISSING_KEY)
    yield
    cache.delete(WORKER_MISSING_KEY)


def test_banner_when_work_is_due_and_no_worker_passed(admin_client, partner, alice):
    """An event waits for the relay; no heartbeat: admins see the banner and the command."""
    create_account(partner=partner, name="Acme", external_id="a-1", actor=alice)
    html = admin_client.get("/accounts/").content.decode()
    assert BANNER in html and "python manage.py worker" in html


def test_no_banner_once_a_worker_passed(admin_client, partner, alice):
    create_account(partner=partner, name="Acme", external_id="a-1", actor=alice)
    heartbeat.beat(heartbeat.worker_name("worker"))
    assert BANNER not in admin_client.get("/accounts/").content.decode()


def test_no_banner_without_due_work(admin_client):
    assert BANNER not in admin_client.get("/accounts/").content.decode()


def test_viewers_are_not_shown_the_banner(viewer_client, partner, alice):
    create_account(partner=partner, name="Acme", external_id="a-1", actor=alice)
    assert BANNER not in viewer_client.get("/accounts/").content.decode()


def test_banner_links_the_docs_when_published(admin_client, partner, alice, settings):
    settings.DOCS_URL = "https://docs.hatchway.test"
    create_account(partner=partner, name="Acme", external_id="a-1", actor=alice)
    html = admin_client.get("/accounts/").content.decode()
    assert 'href="https://docs.hatchway.test/operations.md#background-worker"' in html
