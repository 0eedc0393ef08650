"""The result page leads somewhere: Try again after a failure or a cancellation, Connect
another app after a success, Done to the return URL -- against the in-process sandbox."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from connectors.models import Connector
from installs.models import Install
from links import services as links
from tests.factories import account, configure_sandbox, expire, make_link

RETURN = "https://app.acme.test/integrations"


@pytest.fixture
def token(partner, catalog, sandbox_transport) -> str:
    partner.allowed_return_origins = ["https://app.acme.test"]
    partner.save()
    configure_sandbox(partner, base="http://testserver")
    offered = list(Connector.objects.filter(slug__in=["sandbox-oauth2", "sandbox-api-key"]))
    return make_link(account(partner), offered, return_url=RETURN)[1]


def sign_in(client: Client, start_response, decision: str) -> str:
    """Consent at the sandbox; return the result page's HTML."""
    provider_url = start_response["Location"]
    assert provider_url.startswith("http://testserver/sandbox/oauth2/authorize?")
    client.get(provider_url)
    back = client.post(provider_url, {"decision": decision})["Location"]
    callback = client.get(back)
    return client.get(callback["Location"]).content.decode()


def test_cancelled_then_try_again_then_connect_another(client, token):
    client.get(reverse("install:landing", args=[token]))
    html = sign_in(client, client.post(reverse("install:connect",
                                               args=[token, "sandbox-oauth2"])), "deny")
    install = Install.objects.get()
    retry = reverse("install:result_reconnect", args=[install.pk])
    assert "Connection cancelled" in html and f'action="{retry}"' in html and "Try again" in html
    assert "Other apps to connect" in html and "Sandbox (API key)" in html
    assert 'http-equiv="refresh"' not in html  # no hurry away from Try again

    html = sign_in(client, client.post(retry), "allow")
    assert "<h1>Connected</h1>" in html and "Connect another app" in html
    assert Install.objects.get().status == Install.Status.AUTHENTICATED  # the same install
    assert f'href="{reverse("install:continue")}">Done</a>' in html
    assert 'http-equiv="refresh"' not in html  # another app is still offered

    another = reverse("install:result_connect", args=["sandbox-api-key"])
    form = client.post(another)
    assert 'type="password"' in form.content.decode()
    done = client.post(another, {"step": "details", "api_key": "fake-api-key-123"})
    html = client.get(done["Location"]).content.decode()
    assert "<h1>Connected</h1>" in html
    assert Install.objects.filter(status=Install.Status.AUTHENTICATED).count() == 2


def test_no_try_again_once_the_link_has_expired(client, token):
    client.get(reverse("install:landing", args=[token]))
    sign_in(client, client.post(reverse("install:connect", args=[token, "sandbox-oauth2"])),
            "deny")
    expire(links.find_link(token))
    html = client.get(reverse("install:result")).content.decode()
    assert "Try again" not in html and "Other apps to connect" not in html
    install = Install.objects.get()
    refused = client.post(reverse("install:result_reconnect", args=[install.pk]))
    assert refused.status_code == 410 and "Link expired" in refused.content.decode()


def test_result_actions_need_this_browsers_result(client, token):
    """Without a result in the session the buttons' routes lead back to the result page."""
    response = client.post(reverse("install:result_connect", args=["sandbox-api-key"]))
    assert response["Location"] == reverse("install:result")
    assert not Install.objects.exists()


def test_result_reconnect_refuses_another_accounts_install(client, token, partner):
    client.get(reverse("install:landing", args=[token]))
    sign_in(client, client.post(reverse("install:connect", args=[token, "sandbox-oauth2"])),
            "deny")
    stranger = Install.objects.create(
        account=account(partner, name="Other", external_id="other-1"),
        connector=Connector.objects.get(slug="sandbox-oauth2"))
    refused = client.post(reverse("install:result_reconnect", args=[stranger.pk]))
    assert refused.status_code == 404
    stranger.refresh_from_db()
    assert stranger.status == Install.Status.PENDING
