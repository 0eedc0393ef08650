"""The sandbox's OAuth 1.0a provider: the three-legged dance, replay protection, refusals."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

from django.test import Client
from django.utils import timezone
from oauthlib import oauth1

from sandbox import services
from sandbox.models import OAuth1Token

from .conftest import CALLBACK, ME, Registered, consent, form_post, query, whoami

BASE = "http://testserver"
REQUEST_TOKEN = "/sandbox/oauth1/request_token"
AUTHORIZE = "/sandbox/oauth1/authorize"
ACCESS_TOKEN = "/sandbox/oauth1/access_token"


def signature(consumer: Registered, method: str, path: str, **client_kwargs: str) -> dict:
    """The Authorization header of a request signed with HMAC-SHA1 (fresh nonce each call)."""
    signer = oauth1.Client(consumer.client_id, client_secret=consumer.secret, **client_kwargs)
    _, headers, _ = signer.sign(BASE + path, http_method=method)
    return headers


def request_token(client: Client, consumer: Registered, callback: str = CALLBACK):
    return form_post(client, REQUEST_TOKEN, {},
                     **signature(consumer, "POST", REQUEST_TOKEN, callback_uri=callback))


def parsed(response) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(response.content.decode()).items()}


def authorized_request_token(client: Client, consumer: Registered) -> tuple[str, str, str]:
    """(token, token secret, verifier) after the user pressed Allow."""
    issued = parsed(request_token(client, consumer))
    response = consent(client, f"{AUTHORIZE}?oauth_token={issued['oauth_token']}")
    assert response.status_code == 302
    return issued["oauth_token"], issued["oauth_token_secret"], query(response["Location"])[
        "oauth_verifier"]


def access_token(client: Client, consumer: Registered, token: str, secret: str, verifier: str):
    return form_post(client, ACCESS_TOKEN, {}, **signature(
        consumer, "POST", ACCESS_TOKEN, resource_owner_key=token, resource_owner_secret=secret,
        verifier=verifier))


def me_headers(consumer: Registered, token: str, secret: str) -> dict:
    return signature(consumer, "GET", ME, resource_owner_key=token, resource_owner_secret=secret)


def test_full_dance_with_requests_oauthlib(client, consumer, sandbox_user, sandbox_transport):
    """Request token (callback confirmed) → Allow → verifier → access token → signed /api/me."""
    from connectors import http

    session = http.OAuth1(consumer.client_id, client_secret=consumer.secret,
                          callback_uri=CALLBACK + "?state=fake-state-1")
    issued = session.fetch_request_token(BASE + REQUEST_TOKEN)
    assert issued["oauth_callback_confirmed"] == "true"

    url = session.authorization_url(BASE + AUTHORIZE)
    page = client.get(url.removeprefix(BASE))
    assert "Hatchway OAuth1 App" in page.content.decode()
    location = client.post(url.removeprefix(BASE), {"decision": "allow"})["Location"]
    assert location.startswith(CALLBACK + "?state=fake-state-1&")
    assert session.parse_authorization_response(location)["oauth_verifier"]

    access = session.fetch_access_token(BASE + ACCESS_TOKEN)
    assert access["oauth_token"] != issued["oauth_token"]
    api = http.OAuth1(consumer.client_id, client_secret=consumer.secret,
                      resource_owner_key=access["oauth_token"],
                      resource_owner_secret=access["oauth_token_secret"])
    me = api.get(BASE + ME)
    assert me.status_code == 200
    assert me.json() == {"id": sandbox_user.pk, "username": "sandy", "auth": "oauth1",
                         "scope": "read"}


def test_request_token_is_exchanged_once(client, consumer, sandbox_user):
    """A second exchange of the same request token is refused."""
    token, secret, verifier = authorized_request_token(client, consumer)
    assert access_token(client, consumer, token, secret, verifier).status_code == 200
    assert access_token(client, consumer, token, secret, verifier).status_code == 401
    assert OAuth1Token.objects.filter(kind=OAuth1Token.Kind.ACCESS).count() == 1


def test_wrong_verifier_is_refused(client, consumer, sandbox_user):
    """The access-token exchange needs the verifier the consent page issued."""
    token, secret, verifier = authorized_request_token(client, consumer)
    wrong = "x" * len(verifier)
    assert access_token(client, consumer, token, secret, wrong).status_code == 401
    assert access_token(client, consumer, token, secret, verifier).status_code == 200


def test_unauthorized_request_token_cannot_be_exchanged(client, consumer, sandbox_user):
    """Without the user's Allow there is no verifier that works."""
    issued = parsed(request_token(client, consumer))
    response = access_token(client, consumer, issued["oauth_token"],
                            issued["oauth_token_secret"], "fakeverifier0123456789abcdef")
    assert response.status_code == 401


def test_replayed_nonce_is_refused(client, consumer, sandbox_user):
    """The very same signed request sent twice: the second is a replay → 401."""
    token, secret, verifier = authorized_request_token(client, consumer)
    access = parsed(access_token(client, consumer, token, secret, verifier))
    headers = me_headers(consumer, access["oauth_token"], access["oauth_token_secret"])
    assert whoami(client, **headers).status_code == 200
    replay = whoami(client, **headers)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_token"
    fresh = me_headers(consumer, access["oauth_token"], access["oauth_token_secret"])
    assert whoami(client, **fresh).status_code == 200


def test_replayed_request_token_request_is_refused(client, consumer):
    """Replay protection covers the request-token endpoint too."""
    headers = signature(consumer, "POST", REQUEST_TOKEN, callback_uri=CALLBACK)
    assert form_post(client, REQUEST_TOKEN, {}, **headers).status_code == 200
    assert form_post(client, REQUEST_TOKEN, {}, **headers).status_code == 401
    assert OAuth1Token.objects.count() == 1


def test_wrong_consumer_secret_is_refused(client, consumer):
    """A bad signature gets 401 and no request token."""
    forged = Registered(consumer.client_id, "fake-wrong-consumer-secret")
    assert request_token(client, forged).status_code == 401
    unknown = Registered("f" * 40, "fake-consumer-secret-123")
    assert request_token(client, unknown).status_code == 401
    assert OAuth1Token.objects.count() == 0


def test_wrong_token_secret_is_refused(client, consumer, sandbox_user):
    """Signed /api/me needs the access token's secret, not just the token."""
    token, secret, verifier = authorized_request_token(client, consumer)
    access = parsed(access_token(client, consumer, token, secret, verifier))
    assert whoami(client, **me_headers(consumer, access["oauth_token"],
                                       "fake-wrong-token-secret")).status_code == 401


def test_access_token_only_works_for_its_consumer(client, consumer, sandbox_user):
    """Another consumer cannot use this consumer's access token, even with its secret."""
    token, secret, verifier = authorized_request_token(client, consumer)
    access = parsed(access_token(client, consumer, token, secret, verifier))
    other = Registered(*services.register_client(name="Other", redirect_uri=CALLBACK,
                                                 kind="oauth1"))
    assert whoami(client, **me_headers(other, access["oauth_token"],
                                       access["oauth_token_secret"])).status_code == 401


def test_callback_must_match_the_registered_one(client, consumer):
    """Another host or path is refused; a missing callback is a 400; a query is allowed."""
    assert request_token(client, consumer, "https://evil.example/connectors/callback"
                         ).status_code == 401
    assert request_token(client, consumer, "http://testserver/elsewhere").status_code == 401
    assert request_token(client, consumer, "oob").status_code == 401
    no_callback = form_post(client, REQUEST_TOKEN, {},
                            **signature(consumer, "POST", REQUEST_TOKEN))
    assert no_callback.status_code == 400
    assert request_token(client, consumer, CALLBACK + "?state=abc").status_code == 200


def test_deny_redirects_to_the_callback_with_denied(client, consumer, sandbox_user):
    """Deny → callback?denied=<token>; the token is then dead for consent and exchange."""
    issued = parsed(request_token(client, consumer, CALLBACK + "?state=fake-state-2"))
    url = f"{AUTHORIZE}?oauth_token={issued['oauth_token']}"
    response = consent(client, url, decision="deny")
    assert response.status_code == 302
    params = query(response["Location"])
    assert params == {"state": "fake-state-2", "denied": issued["oauth_token"]}
    assert client.get(url).status_code == 400
    assert access_token(client, consumer, issued["oauth_token"], issued["oauth_token_secret"],
                        "fakeverifier0123456789abcdef").status_code == 401


def test_consent_page_refuses_unknown_used_or_expired_tokens(client, consumer, sandbox_user):
    """Only a pending request token gets a consent page."""
    assert client.get(f"{AUTHORIZE}?oauth_token=nosuchtoken0123456789").status_code == 400
    assert client.get(AUTHORIZE).status_code == 400
    token, _, _ = authorized_request_token(client, consumer)
    again = client.get(f"{AUTHORIZE}?oauth_token={token}")
    assert again.status_code == 400 and "Request refused" in again.content.decode()
    issued = parsed(request_token(client, consumer))
    OAuth1Token.objects.filter(authorized_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"{AUTHORIZE}?oauth_token={issued['oauth_token']}").status_code == 400


def test_consent_post_is_csrf_protected(consumer, sandbox_user):
    """Allow without the form's CSRF token → 403, nothing authorized."""
    issued = parsed(request_token(Client(), consumer))
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"{AUTHORIZE}?oauth_token={issued['oauth_token']}",
                           {"decision": "allow"})
    assert response.status_code == 403
    assert not OAuth1Token.objects.filter(authorized_at__isnull=False).exists()


def test_oauth2_client_is_not_an_oauth1_consumer(client, oauth2_client):
    """An OAuth 2.0 client id/secret cannot sign OAuth 1.0a requests."""
    assert request_token(client, oauth2_client).status_code == 401
