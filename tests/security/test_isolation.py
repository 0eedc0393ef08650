"""Partner isolation: 2 partners × 2 accounts, every account/install page and action with
the other partner's ids → 404, existence not leaked, nothing changed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import Account
from audit.models import AuditEvent
from installs.models import AuthAttempt, Install
from tests.factories import make_connector


@dataclass
class Side:
    client: object
    accounts: list[Account]
    installs: list[Install]


CONNECTOR = {
    "name": "Keyed API", "description": "d",
    "auth": {"type": "api_key", "header": "X-API-Key"},
    "fields": [{"key": "api_key", "label": "API key", "secret": True, "level": "account"}],
}


def build_side(partner, client, connector) -> Side:
    accounts, installs = [], []
    for n in range(2):
        account = Account.objects.create(partner=partner, name=f"{partner.name} customer {n}",
                                         external_id=f"{partner.slug}-{n}")
        accounts.append(account)
        installs.append(Install.objects.create(
            account=account, connector=connector, name=f"{partner.name} install {n}",
            status=Install.Status.AUTHENTICATED, credentials={"api_key": f"fake-key-{n}"}))
    return Side(client, accounts, installs)


@pytest.fixture
def sides(partner, other_partner, admin_client, other_client):
    connector = make_connector("keyed", CONNECTOR)
    return build_side(partner, admin_client, connector), build_side(
        other_partner, other_client, connector)


ACCOUNT_GETS = ["/accounts/{id}/", "/accounts/{id}/install/", "/accounts/{id}/install/keyed/"]
ACCOUNT_POSTS = ["/accounts/{id}/install/keyed/"]
INSTALL_GETS = ["", "edit", "delete"]
INSTALL_POSTS = ["authenticate", "test", "deauthenticate", "delete", "edit"]


def install_urls(account_id: int, install_id: int, actions: list[str]) -> list[str]:
    base = f"/accounts/{account_id}/installs/{install_id}/"
    return [f"{base}{action}/" if action else base for action in actions]


def foreign_pairs(me: Side, them: Side) -> list[tuple[int, int]]:
    """Their (account, install) ids, and their install id under my account id."""
    return [(i.account_id, i.pk) for i in them.installs] + [
        (me.accounts[0].pk, i.pk) for i in them.installs]


def snapshot() -> list[tuple]:
    return sorted((i.pk, i.status, i.name, str(i.credentials), str(i.values))
                  for i in Install.objects.all())


def test_own_ids_work(sides):
    """Control: each partner reaches its own accounts and installs."""
    for side in sides:
        for account, install in zip(side.accounts, side.installs, strict=True):
            assert side.client.get(f"/accounts/{account.pk}/").status_code == 200
            url = install_urls(account.pk, install.pk, [""])[0]
            assert side.client.get(url).status_code == 200


@pytest.mark.parametrize("direction", [0, 1])
def test_other_partners_ids_are_not_found(sides, direction):
    """view / install / test / reauthenticate / deauthenticate / delete / edit → 404."""
    me, them = sides[direction], sides[1 - direction]
    before, events = snapshot(), AuditEvent.objects.count()
    for account in them.accounts:
        for url in ACCOUNT_GETS:
            assert me.client.get(url.format(id=account.pk)).status_code == 404, url
        for url in ACCOUNT_POSTS:
            response = me.client.post(url.format(id=account.pk), {"api_key": "fake-key-x"})
            assert response.status_code == 404, url
    for account_id, install_id in foreign_pairs(me, them):
        for url in install_urls(account_id, install_id, INSTALL_GETS):
            assert me.client.get(url).status_code == 404, url
        for url in install_urls(account_id, install_id, INSTALL_POSTS):
            assert me.client.post(url).status_code == 404, url
    assert snapshot() == before
    assert AuditEvent.objects.count() == events
    assert not AuthAttempt.objects.exists()


def test_foreign_and_missing_ids_look_the_same(sides):
    """A foreign id and an id that does not exist give the same 404 page."""
    me, them = sides
    install = them.installs[0]
    foreign = me.client.get(install_urls(install.account_id, install.pk, [""])[0])
    missing = me.client.get(install_urls(install.account_id, 999999, [""])[0])
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


def test_lists_show_only_own_accounts(sides):
    """The account list holds this partner's accounts only."""
    me, them = sides
    html = me.client.get("/accounts/").content.decode()
    assert all(a.name in html for a in me.accounts)
    assert not any(a.name in html for a in them.accounts)


def test_an_install_is_only_found_under_its_own_account(sides):
    """Same partner, the other account's id in the URL: 404."""
    me = sides[0]
    install = me.installs[0]
    url = install_urls(me.accounts[1].pk, install.pk, [""])[0]
    assert me.client.get(url).status_code == 404
