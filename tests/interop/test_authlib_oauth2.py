"""Hatchway against Authlib's OAuth 2.0 authorization server (tests/interop/authlib_server.py),
live on 127.0.0.1: code + PKCE sign-in, verify, refresh with rotation, revocation, client
credentials, and Authlib's refusals. The browser step is a real HTTP request to Authlib;
the callback goes to Hatchway through Django's test client."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import Scope
from installs import refresh
from installs.models import AuthAttempt, Install
from tests.api.helpers import bearer, make_key
from tests.factories import (
    authenticate,
    callback_for,
    install_path,
    make_link,
    new_install,
    path_and_query,
    query,
    raw_value,
)
from tests.interop.authlib_server import Client as AuthlibClient
from tests.interop.authlib_server import Store
from tests.interop.conftest import (
    client_credentials_connector,
    code_flow_connector,
    code_flow_live,
)

TIMEOUT = 5


def to_authlib(url: str) -> requests.Response:
    """The browser at Authlib's authorize endpoint (consent is automatic)."""
    return requests.get(url, allow_redirects=False, timeout=TIMEOUT)


def sign_in(client: Client, install: Install, store: Store) -> Any:
    """Authenticate in the console, get a code from Authlib, bring it to the callback."""
    url = authenticate(client, install)
    assert url.startswith(f"{store.base}/oauth/authorize?"), url
    answer = to_authlib(url)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(callback_for(install.connector.slug) + "?"), callback
    assert "code" in query(callback)
    return client.get(path_and_query(callback))


def token_request(store: Store, client: AuthlibClient, **form: str) -> requests.Response:
    return requests.post(f"{store.base}/oauth/token", data=form, timeout=TIMEOUT,
                         auth=(client.client_id, client.client_secret))


def me(store: Store, access_token: str) -> int:
    return requests.get(f"{store.base}/api/me", timeout=TIMEOUT,
                        headers={"Authorization": f"Bearer {access_token}"}).status_code


def signed_in(client: Client, account: Any, store: Store) -> tuple[Install, AuthlibClient]:
    connector, authlib_client = code_flow_connector(account.partner, store)
    install = new_install(account, connector, name="Initech CRM")
    response = sign_in(client, install, store)
    assert response.status_code == 302 and response["Location"] == install_path(install)
    install.refresh_from_db()
    return install, authlib_client


def test_code_flow_with_pkce_authenticates_and_verifies(admin_client, account, authlib):
    """Authlib issues tokens for Hatchway's code + S256 verifier; the install is
    Authenticated, its tokens are encrypted at rest and the verify call reached /api/me."""
    connector, authlib_client = code_flow_connector(account.partner, authlib)
    install = new_install(account, connector, name="Initech CRM")
    url = authenticate(admin_client, install)
    assert query(url)["code_challenge_method"] == "S256"
    answer = to_authlib(url)
    callback = answer.headers["Location"]
    response = admin_client.get(path_and_query(callback))
    assert response.status_code == 302 and response["Location"] == install_path(install)

    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    [issued] = authlib.tokens
    assert issued.client_id == authlib_client.client_id and issued.user_id == "ada"
    assert install.credentials["access_token"] == issued.access_token
    assert install.credentials["refresh_token"] == issued.refresh_token
    assert install.expires_at > timezone.now() + timedelta(minutes=50)
    assert authlib.codes == {}  # the code was redeemed (and cannot be again)
    raw = raw_value(install, "credentials")
    assert raw and issued.access_token.encode() not in raw
    assert issued.refresh_token.encode() not in raw
    assert authlib.api_calls == [issued.access_token]  # the verify request
    page = admin_client.get(install_path(install)).content.decode()
    assert "Authenticated" in page and issued.access_token not in page


def test_refresh_rotates_at_authlib_and_the_old_refresh_token_is_refused(
        admin_client, account, authlib):
    """The workers' refresh (refresh_install on a due install) gets a new pair from
    Authlib; Authlib then refuses the old refresh token and the old access token."""
    install, authlib_client = signed_in(admin_client, account, authlib)
    old = dict(install.credentials)
    Install.objects.filter(pk=install.pk).update(expires_at=timezone.now() + timedelta(seconds=5))

    assert refresh.refresh_install(install.pk) == refresh.REFRESHED

    install.refresh_from_db()
    first, second = authlib.tokens
    assert first.access_token == old["access_token"] and first.refresh_token_revoked
    assert install.credentials["access_token"] == second.access_token != old["access_token"]
    assert install.credentials["refresh_token"] == second.refresh_token != old["refresh_token"]
    assert install.status == Install.Status.AUTHENTICATED
    refused = token_request(authlib, authlib_client, grant_type="refresh_token",
                            refresh_token=old["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert me(authlib, old["access_token"]) == 401
    assert me(authlib, second.access_token) == 200
    response = admin_client.post(install_path(install, "test"), follow=True)
    assert "Connection works" in response.content.decode()
    assert authlib.api_calls[-1] == second.access_token


def test_deauthenticate_revokes_at_authlib(admin_client, account, authlib):
    """Deauthenticate: RFC 7009 revocation at Authlib, which then refuses both tokens."""
    install, authlib_client = signed_in(admin_client, account, authlib)
    old = dict(install.credentials)
    response = admin_client.post(install_path(install, "deauthenticate"), follow=True)
    assert "revoked the token" in response.content.decode()
    [token] = authlib.tokens
    assert token.refresh_token_revoked and token.is_revoked()
    install.refresh_from_db()
    assert install.status == Install.Status.DEAUTHENTICATED and install.credentials == {}
    assert me(authlib, old["access_token"]) == 401
    refused = token_request(authlib, authlib_client, grant_type="refresh_token",
                            refresh_token=old["refresh_token"])
    assert refused.json()["error"] == "invalid_grant"


def test_delete_install_revokes_at_authlib(admin_client, account, authlib):
    """Deleting the install revokes its token at Authlib too."""
    install, _ = signed_in(admin_client, account, authlib)
    admin_client.post(install_path(install, "delete"), follow=True)
    assert not Install.objects.filter(pk=install.pk).exists()
    [token] = authlib.tokens
    assert token.refresh_token_revoked and token.is_revoked()
    assert me(authlib, token.access_token) == 401


def test_client_credentials_connector_authenticates(admin_client, account, authlib):
    """No browser step: Hatchway gets a token from Authlib's client_credentials grant."""
    connector, authlib_client = client_credentials_connector(account.partner, authlib)
    install = new_install(account, connector)
    response = admin_client.post(install_path(install, "authenticate"))
    assert response["Location"] == install_path(install)
    install.refresh_from_db()
    assert install.status == Install.Status.AUTHENTICATED
    [issued] = authlib.tokens
    assert issued.client_id == authlib_client.client_id and issued.user_id is None
    assert install.credentials["access_token"] == issued.access_token
    assert authlib.api_calls == [issued.access_token]


def test_tampered_pkce_verifier_is_refused_by_authlib(admin_client, account, authlib):
    """A code_verifier that does not match the challenge: Authlib's token endpoint refuses
    (invalid_grant) and Hatchway shows the failure; nothing is stored on either side."""
    connector, _ = code_flow_connector(account.partner, authlib)
    install = new_install(account, connector)
    url = authenticate(admin_client, install)
    attempt = AuthAttempt.objects.get(install=install)
    attempt.secrets = {**attempt.secrets, "code_verifier": secrets.token_urlsafe(48)}
    attempt.save()
    callback = to_authlib(url).headers["Location"]
    response = admin_client.get(path_and_query(callback))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sign-in failed" in html and "invalid_grant" in html
    install.refresh_from_db()
    assert install.status == Install.Status.ERROR and install.credentials == {}
    assert "invalid_grant" in install.last_error
    assert authlib.tokens == []


def test_wrong_redirect_uri_is_refused_by_authlib(admin_client, account, authlib):
    """A client registered at Authlib with another callback URL: Authlib refuses at the
    authorize step (no redirect, no code) and the install stays unauthenticated."""
    connector, _ = code_flow_connector(account.partner, authlib,
                                       redirect_uri=callback_for("somewhere-else"))
    install = new_install(account, connector)
    answer = to_authlib(authenticate(admin_client, install))
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert answer.json()["error"] == "invalid_request"
    assert "redirect" in answer.json()["error_description"].lower()
    assert authlib.codes == {} and authlib.tokens == []
    install.refresh_from_db()
    assert install.status == Install.Status.PENDING and install.credentials == {}
    page = admin_client.get(install_path(install)).content.decode()
    assert "Pending" in page and "Authenticated" not in page


def test_authlib_enforces_pkce(admin_client, account, authlib):
    """The server really requires PKCE: a connector that does not send a code_challenge is
    refused at the authorize step, so the verifier checks above are Authlib's."""
    connector, _ = code_flow_connector(account.partner, authlib, pkce=False)
    install = new_install(account, connector)
    url = authenticate(admin_client, install)
    assert "code_challenge" not in query(url)
    answer = to_authlib(url)
    assert answer.status_code == 302  # an error sent back to the (registered) callback
    params = query(answer.headers["Location"])
    assert params["error"] == "invalid_request" and "code_challenge" in params["error_description"]
    assert authlib.codes == {} and authlib.tokens == []
    response = admin_client.get(path_and_query(answer.headers["Location"]))
    assert "code_challenge" in response.content.decode()
    install.refresh_from_db()
    assert install.status != Install.Status.AUTHENTICATED and install.credentials == {}


def test_settings_saved_in_the_console_then_a_customer_install_link(admin_client, client,
                                                                      account, authlib):
    """The partner registers the Callback URL the Authentication Settings page shows at
    Authlib and saves the client there; a customer then connects through an install link."""
    connector = code_flow_live(authlib)
    settings_url = reverse("connectors:settings", args=[connector.slug])
    page = admin_client.get(settings_url).content.decode()
    match = re.search(r'id="callback-url" value="([^"]+)"', page)
    assert match and match.group(1) == callback_for(connector.slug)
    registered = authlib.register(redirect_uri=match.group(1))
    saved = admin_client.post(settings_url, {"client_id": registered.client_id,
                                             "client_secret": registered.client_secret})
    assert saved.status_code == 302

    _, token = make_link(account, [connector])
    client.get(reverse("install:landing", args=[token]))
    start = client.post(reverse("install:connect", args=[token, connector.slug]))
    assert start.status_code == 302 and start["Location"].startswith(authlib.base)
    answer = to_authlib(start["Location"])
    back = client.get(path_and_query(answer.headers["Location"]))
    assert back.status_code == 302 and back["Location"] == reverse("install:result")
    assert "<h1>Connected</h1>" in client.get(back["Location"]).content.decode()
    install = Install.objects.get()
    assert install.account == account and install.status == Install.Status.AUTHENTICATED
    [issued] = authlib.tokens
    assert issued.client_id == registered.client_id
    assert install.credentials["access_token"] == issued.access_token
    assert authlib.api_calls == [issued.access_token]


def test_proxy_reaches_authlib_and_a_401_renews_the_token(admin_client, account, authlib):
    """A partner API proxy call is answered by Authlib's protected resource; when Authlib
    withdraws the access token, the proxy's forced refresh gets a new pair and retries."""
    install, _ = signed_in(admin_client, account, authlib)
    api = bearer(make_key(account.partner, Scope.PROXY)[1])
    response = api.get(f"/api/v1/proxy/{install.pk}/me")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and b'"id":"ada"' in body.replace(b" ", b"")
    assert authlib.api_calls[-1] == install.credentials["access_token"]

    authlib.tokens[0].access_token_revoked = True  # Authlib now answers 401 to it
    response = api.get(f"/api/v1/proxy/{install.pk}/me")
    assert response.status_code == 200
    first, second = authlib.tokens
    assert first.refresh_token_revoked  # rotated
    install.refresh_from_db()
    assert install.credentials["access_token"] == second.access_token
    assert authlib.api_calls[-1] == second.access_token
