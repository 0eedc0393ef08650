"""SECURITY.md "OAuth 1.0a callback": the request-token secret is deleted from the
attempt's row on every outcome, success or failure, and only the good one stores anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from installs.models import AuthAttempt, Install
from tests.factories import CONSUMER_SECRET, authenticate, client_for, raw_value
from tests.fake_provider import HOST

REQUEST_TOKEN = (
    "oauth_token=fake-rt&oauth_token_secret=fake-rt-secret-9&oauth_callback_confirmed=true")
ACCESS_TOKEN = "oauth_token=fake-at&oauth_token_secret=fake-at-secret-9"


def good_params(state: str) -> dict[str, str]:
    return {"state": state, "oauth_token": "fake-rt", "oauth_verifier": "fake-verifier-9"}


PATHS = {
    # name: (change to the callback parameters, access token answer, expected status)
    "success": ({}, {"text": ACCESS_TOKEN}, 302),
    "denied": ({"denied": "fake-rt", "oauth_verifier": None}, None, 200),
    "another token": ({"oauth_token": "someone-elses-token"}, None, 400),
    "no verifier": ({"oauth_verifier": None}, None, 400),
    "access token refused": ({}, {"status": 401, "text": "oauth_problem=nope"}, 200),
    "access token unreadable": ({}, {"text": "<html>oops</html>"}, 200),
}


@pytest.mark.parametrize("path", PATHS)
def test_request_token_secret_is_deleted_on_every_outcome(admin_client, fake, oauth1_install,
                                                          path):
    """After the callback the attempt row holds no secret, whatever happened."""
    change, answer, status = PATHS[path]
    fake.add("POST", f"{HOST}/request_token", text=REQUEST_TOKEN)
    if answer:
        fake.add("POST", f"{HOST}/access_token", **answer)
    authenticate(admin_client, oauth1_install)
    attempt = AuthAttempt.objects.get()
    assert attempt.secrets == {"request_token_secret": "fake-rt-secret-9"}
    params = {k: v for k, v in {**good_params(attempt.state), **change}.items() if v is not None}
    response = admin_client.get("/connectors/fake-oauth1/callback", params)
    assert response.status_code == status
    attempt.refresh_from_db()
    assert attempt.secrets == {} and attempt.used_at is not None
    assert b"fake-rt-secret-9" not in (raw_value(attempt, "secrets") or b"")
    oauth1_install.refresh_from_db()
    if path == "success":
        assert oauth1_install.status == Install.Status.AUTHENTICATED
        assert oauth1_install.credentials == {"oauth_token": "fake-at",
                                              "oauth_token_secret": "fake-at-secret-9"}
    else:
        assert oauth1_install.credentials == {}
        assert oauth1_install.status != Install.Status.AUTHENTICATED
    expected_exchanges = 1 if answer else 0
    assert len(fake.calls_to(f"{HOST}/access_token")) == expected_exchanges
    html = response.content.decode()
    assert CONSUMER_SECRET not in html and "fake-rt-secret-9" not in html


@pytest.mark.parametrize("path", ["expired", "another browser", "replayed"])
def test_refused_states_also_delete_the_secret(admin_client, alice, fake, oauth1_install, path):
    """Expired, from another browser session, or replayed: 400, no exchange, no secret kept."""
    fake.add("POST", f"{HOST}/request_token", text=REQUEST_TOKEN)
    fake.add("POST", f"{HOST}/access_token", text=ACCESS_TOKEN)
    authenticate(admin_client, oauth1_install)
    attempt = AuthAttempt.objects.get()
    browser = admin_client
    if path == "expired":
        AuthAttempt.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif path == "another browser":
        browser = client_for(alice)
    else:
        assert admin_client.get("/connectors/fake-oauth1/callback", good_params(attempt.state)
                                ).status_code == 302
    exchanges = len(fake.calls_to(f"{HOST}/access_token"))
    response = browser.get("/connectors/fake-oauth1/callback", good_params(attempt.state))
    assert response.status_code == 400
    assert len(fake.calls_to(f"{HOST}/access_token")) == exchanges
    attempt.refresh_from_db()
    assert attempt.secrets == {} and attempt.used_at is not None


def test_unconfirmed_callback_is_refused_for_any_value_but_true(admin_client, fake,
                                                                 oauth1_install):
    """oauth_callback_confirmed=false (not just missing): no redirect, no attempt stored."""
    fake.add("POST", f"{HOST}/request_token",
             text="oauth_token=fake-rt&oauth_token_secret=fake-rts&oauth_callback_confirmed=false")
    response = admin_client.post(f"/accounts/{oauth1_install.account_id}/installs/"
                                 f"{oauth1_install.pk}/authenticate/")
    assert response.status_code == 302 and not response["Location"].startswith(HOST)
    assert not AuthAttempt.objects.exists()
