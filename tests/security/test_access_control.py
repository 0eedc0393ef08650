"""SECURITY.md "Access control": every POST endpoint refuses viewers (403) and requests
without a CSRF token (403), found by walking the URL configuration; install links of
another partner or account are not found (404) and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Account
from audit.models import AuditEvent
from connectors.models import PartnerAuthSettings
from installs.models import Install, PendingRevocation
from links import services as links
from links.models import InstallLink
from tests.factories import client_for, make_connector
from tests.security.test_isolation import CONNECTOR, build_side


def named_patterns(namespaces: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(`namespace:name`, URL keyword names) of every route in the given namespaces."""
    found = []
    for resolver in get_resolver().url_patterns:
        if isinstance(resolver, URLResolver) and resolver.namespace in namespaces:
            for pattern in resolver.url_patterns:
                if isinstance(pattern, URLPattern) and pattern.name:
                    found.append((f"{resolver.namespace}:{pattern.name}",
                                  list(pattern.pattern.converters)))
    return found


@pytest.fixture
def own(partner) -> dict[str, Any]:
    """One of each object the console URLs name, all belonging to the partner."""
    connector = make_connector("keyed", CONNECTOR)
    side = build_side(partner, None, connector)
    link, token = links.create_link(account=side.accounts[0], connectors=[connector])
    return {"account_id": side.accounts[0].pk, "install_id": side.installs[0].pk,
            "link_id": link.pk, "slug": "keyed", "token": token, "colour": "aa3300"}


def state() -> tuple:
    """Everything a POST could change."""
    return (
        sorted((i.pk, i.status, i.name, str(i.credentials), str(i.values))
               for i in Install.objects.all()),
        sorted(InstallLink.objects.values_list("pk", "revoked_at", "use_count")),
        Account.objects.count(), PartnerAuthSettings.objects.count(),
        PendingRevocation.objects.count(), AuditEvent.objects.count(),
    )


def test_viewers_get_403_on_every_console_post(viewer_client, own, partner):
    """Each accounts:/connectors:/links: route either refuses POST outright (405) or answers 403."""
    patterns = named_patterns(("accounts", "connectors", "links"))
    before, forbidden = state(), []
    data = {"api_key": "fake-key-x", "name": "x", "external_id": "x", "display_name": "x",
            "primary_colour": "#000000", "expires_minutes": "60", "connectors": ["1"]}
    for name, keys in patterns:
        url = reverse(name, kwargs={key: own[key] for key in keys})
        response = viewer_client.post(url, data)
        if response.status_code == 405:
            assert "POST" not in response["Allow"], name
        else:
            assert response.status_code == 403, (name, response.status_code)
            forbidden.append(name)
    assert {"accounts:create", "accounts:install_new", "accounts:install_edit",
            "accounts:install_authenticate", "accounts:install_test",
            "accounts:install_deauthenticate", "accounts:install_delete",
            "links:link_create", "links:link_revoke", "links:branding",
            "connectors:settings"} <= set(forbidden)
    assert state() == before


def test_every_post_needs_a_csrf_token(alice, own):
    """Console, customer and login routes: a POST without a CSRF token is 403, nothing changes."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    before = state()
    routes = named_patterns(("accounts", "connectors", "install"))
    assert len(routes) > 20
    for name, keys in routes + [("login", []), ("logout", [])]:
        url = reverse(name, kwargs={key: own[key] for key in keys})
        response = browser.post(url, {"api_key": "fake-key-x"})
        assert response.status_code == 403, (name, response.status_code)
    assert state() == before


@pytest.mark.parametrize("direction", [0, 1])
def test_install_links_with_foreign_ids_are_not_found(partner, other_partner, alice, mallory,
                                                      direction):
    """Create / revoke install links with the other partner's account or link ids → 404."""
    connector = make_connector("keyed", CONNECTOR)
    sides = [build_side(partner, client_for(alice), connector),
             build_side(other_partner, client_for(mallory), connector)]
    for side in sides:
        for account in side.accounts:
            links.create_link(account=account, connectors=[connector])
    me, them = sides[direction], sides[1 - direction]
    before = state()
    for account in them.accounts:
        create = reverse("links:link_create", args=[account.pk])
        assert me.client.get(create).status_code == 404
        assert me.client.post(create, {"connectors": [connector.pk],
                                       "expires_minutes": "60"}).status_code == 404
    for link in InstallLink.objects.filter(account__in=them.accounts):
        for account_id in (link.account_id, me.accounts[0].pk):
            revoke = reverse("links:link_revoke", args=[account_id, link.pk])
            assert me.client.post(revoke).status_code == 404
    assert state() == before
