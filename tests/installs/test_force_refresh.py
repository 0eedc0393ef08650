"""`ensure_fresh(force=True)`: a refresh before the token is due, under the same row lock,
and never twice for one stale token nor for a key that cannot be refreshed."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Account
from installs import refresh
from installs.models import Install
from sandbox import services as sandbox
from sandbox.seeding import sandbox_accepts, seed_due_installs
from tests.factories import catalogue_connector


def test_force_refreshes_a_token_not_due(partner, sandbox_transport):
    """Not due, forced: one upstream refresh, the new token stored and accepted."""
    install = seed_due_installs(partner, 1, expires_in=3600).installs[0]
    before = sandbox.refresh_count()
    assert refresh.ensure_fresh(install) is install  # not due: untouched
    fresh = refresh.ensure_fresh(install, force=True)
    assert sandbox.refresh_count() == before + 1
    assert fresh.credentials != install.credentials and sandbox_accepts(fresh.credentials)


def test_a_stale_copy_gets_the_token_refreshed_meanwhile(partner, sandbox_transport):
    """Two forced refreshes from the same old copy: the second takes the first's token."""
    install = seed_due_installs(partner, 1, expires_in=3600).installs[0]
    before = sandbox.refresh_count()
    first = refresh.ensure_fresh(install, force=True)
    second = refresh.ensure_fresh(install, force=True)  # `install` still has the old token
    assert sandbox.refresh_count() == before + 1
    assert second.credentials == first.credentials


def test_force_leaves_an_api_key_alone(partner):
    """A key that cannot be refreshed stays authenticated (forcing would only break it)."""
    account = Account.objects.create(partner=partner, name="Initech", external_id="cust-1")
    install = Install.objects.create(account=account,
                                     connector=catalogue_connector("sandbox-api-key"),
                                     status=Install.Status.AUTHENTICATED,
                                     credentials={"api_key": "fake-key-sec-1"},
                                     authenticated_at=timezone.now())
    assert refresh.ensure_fresh(install, force=True).status == Install.Status.AUTHENTICATED
    assert Install.objects.get(pk=install.pk).status == Install.Status.AUTHENTICATED
