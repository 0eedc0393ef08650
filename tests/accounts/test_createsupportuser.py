"""`manage.py createsupportuser EMAIL`: a staff user who views support's models in the
admin, sees no secret and changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import User
from installs.models import Install
from tests.factories import PASSWORD, account, api_key_data, make_connector

ACCESS_TOKEN = "fake-support-visible-token-123"


@pytest.fixture
def support(db, monkeypatch) -> Client:
    monkeypatch.setenv("HATCHWAY_ADMIN_PASSWORD", PASSWORD)
    call_command("createsupportuser", "Help@Hatchway.test", "--noinput")
    user = User.objects.get(email="help@hatchway.test")
    assert user.is_staff and not user.is_superuser and user.check_password(PASSWORD)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def install(partner) -> Install:
    return Install.objects.create(
        account=account(partner), connector=make_connector("keyed", api_key_data("Keyed")),
        status=Install.Status.AUTHENTICATED, authenticated_at=timezone.now(),
        credentials={"access_token": ACCESS_TOKEN})


def test_support_sees_its_models_without_secrets(support, install):
    index = support.get("/admin/").content.decode()
    assert "permission to view or edit anything" not in index
    for path in ("accounts/partner", "accounts/account", "installs/install", "audit/auditevent",
                 "webhooks/webhookdelivery"):
        assert f'href="/admin/{path}/"' in index, path
        assert support.get(f"/admin/{path}/").status_code == 200, path
    assert 'href="/admin/api/apikey/"' not in index and 'href="/admin/accounts/user/"' not in index
    page = support.get(f"/admin/installs/install/{install.pk}/change/")
    assert page.status_code == 200
    assert ACCESS_TOKEN not in page.content.decode()


def test_support_changes_nothing(support, install):
    response = support.post(f"/admin/installs/install/{install.pk}/change/", {"name": "x"})
    assert response.status_code == 403
    assert support.get("/admin/api/apikey/").status_code == 403
    assert support.get("/admin/accounts/user/").status_code == 403


def test_running_it_again_for_the_same_email_is_refused(support):
    with pytest.raises(CommandError, match="already exists"):
        call_command("createsupportuser", "help@hatchway.test", "--noinput")
