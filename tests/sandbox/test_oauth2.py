"""The sandbox's OAuth 2.0 provider: code + PKCE, refresh rotation, client credentials,
client authentication and revocation."""

from __future__ import annotations

import base64
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from sandbox import services
from sandbox.models import AuthorizationCode, SandboxToken

from .conftest import (
    CALLBACK,
    REVOKE,
    TOKEN,
    VERIFIER,
    authorize_url,
    consent,
    exchange,
    form_post,
    get_code,
    query,
    s256,
    token_request,
    whoami,
)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def refresh(client: Client, registered, refresh_token: str):
    return token_request(client, registered, grant_type="refresh_token",
                         refresh_token=refresh_token)


def test_consent_page_names_client_scopes_and_user(client, oauth2_client, sandbox_user):
    """The consent page says which client asks for which scopes, for which sandbox user."""
    page = client.get(authorize_url(oauth2_client.client_id, code_challenge=s256(VERIFIER),
                                    code_challenge_method="S256"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "<title>Sandbox — authorise access</title>" in text
    assert "Hatchway Test App" in text and "sandy" in text
    assert "Read your sandbox profile" in text and "Change your sandbox data" in text
    assert ">Allow</button>" in text and ">Deny</button>" in text
    assert "csrfmiddlewaretoken" in text


def test_code_with_pkce_s256_happy_path(client, oauth2_client, sandbox_user, settings):
    """Allow → code and state back; code + right S256 verifier → tokens that open /api/me."""
    settings.SANDBOX_TOKEN_LIFETIME = 1234
    response = consent(client, authorize_url(oauth2_client.client_id,
                                             code_challenge=s256(VERIFIER),
                                             code_challenge_method="S256"))
    params = query(response["Location"])
    assert params["state"] == "fake-state-abc"

    token = exchange(client, oauth2_client, params["code"])
    body = token.json()
    assert token.status_code == 200, body
    assert "no-store" in token["Cache-Control"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1234
    assert body["scope"] == "read write" and body["refresh_token"]

    me = whoami(client, Authorization=f"Bearer {body['access_token']}")
    assert me.status_code == 200
    assert me.json() == {"id": sandbox_user.pk, "username": "sandy", "auth": "oauth2",
                         "scope": "read write"}
    assert services.issued_count("authorization_code") == 1


def test_code_with_pkce_plain(client, oauth2_client, sandbox_user):
    """The plain method is verified too: the verifier must equal the challenge."""
    code = get_code(client, oauth2_client.client_id, code_challenge=VERIFIER,
                    code_challenge_method="plain")
    assert exchange(client, oauth2_client, code, verifier="not-the-challenge-" + "y" * 30
                    ).json()["error"] == "invalid_grant"
    assert exchange(client, oauth2_client, code).status_code == 200


def test_wrong_verifier_is_invalid_grant(client, oauth2_client, sandbox_user):
    """A code exchanged with the wrong PKCE verifier gets invalid_grant and no token."""
    code = get_code(client, oauth2_client.client_id, code_challenge=s256(VERIFIER),
                    code_challenge_method="S256")
    response = exchange(client, oauth2_client, code, verifier="wrong-verifier-" + "z" * 40)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert SandboxToken.objects.count() == 0


def test_missing_verifier_is_refused(client, oauth2_client, sandbox_user):
    """A code issued with a challenge cannot be exchanged without a verifier."""
    code = get_code(client, oauth2_client.client_id, code_challenge=s256(VERIFIER),
                    code_challenge_method="S256")
    response = exchange(client, oauth2_client, code, verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert SandboxToken.objects.count() == 0


def test_client_requiring_pkce_refuses_authorization_without_challenge(client, pkce_client,
                                                                        sandbox_user):
    """A client configured to require PKCE gets error=invalid_request without a challenge."""
    response = client.get(authorize_url(pkce_client.client_id))
    assert response.status_code == 302
    params = query(response["Location"])
    assert params["error"] == "invalid_request" and params["state"] == "fake-state-abc"


def test_code_without_pkce_works_for_a_client_that_allows_it(client, oauth2_client,
                                                             sandbox_user):
    """PKCE is optional unless the client requires it."""
    code = get_code(client, oauth2_client.client_id)
    assert exchange(client, oauth2_client, code, verifier=None).status_code == 200


def test_code_reuse_is_invalid_grant_and_revokes_its_tokens(client, oauth2_client,
                                                            sandbox_user):
    """A code works once; a replay gets invalid_grant and kills the tokens it produced."""
    code = get_code(client, oauth2_client.client_id, code_challenge=s256(VERIFIER),
                    code_challenge_method="S256")
    first = exchange(client, oauth2_client, code).json()
    second = exchange(client, oauth2_client, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert whoami(client, Authorization=f"Bearer {first['access_token']}").status_code == 401
    assert refresh(client, oauth2_client, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(client, oauth2_client, sandbox_user):
    """Codes live ten minutes."""
    code = get_code(client, oauth2_client.client_id)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert exchange(client, oauth2_client, code, verifier=None).json()["error"] == "invalid_grant"


def test_code_of_another_client_is_invalid_grant(client, oauth2_client, sandbox_user):
    """A code is bound to the client it was issued to."""
    other = services.register_client(name="Other", redirect_uri=CALLBACK)
    code = get_code(client, oauth2_client.client_id)
    response = form_post(client, TOKEN, {"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": CALLBACK, "client_id": other[0],
                                         "client_secret": other[1]})
    assert response.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_at_token_time(client, oauth2_client, sandbox_user):
    """The token request's redirect_uri must be the one the code was issued for."""
    code = get_code(client, oauth2_client.client_id)
    response = token_request(client, oauth2_client, grant_type="authorization_code", code=code,
                             redirect_uri="http://testserver/elsewhere")
    assert response.status_code == 400
    assert AuthorizationCode.objects.get().used_at is None


def test_refresh_rotates_and_reused_refresh_token_is_invalid_grant(client, oauth2_client,
                                                                   sandbox_user):
    """Each refresh issues a new refresh token; the old one then gets invalid_grant."""
    tokens = exchange(client, oauth2_client, get_code(client, oauth2_client.client_id),
                      verifier=None).json()
    renewed = refresh(client, oauth2_client, tokens["refresh_token"])
    body = renewed.json()
    assert renewed.status_code == 200, body
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert body["scope"] == "read write" and body["expires_in"] == 3600
    assert services.refresh_count() == 1

    reused = refresh(client, oauth2_client, tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert services.refresh_count() == 1
    # The rotated one still works, and so does the access token from the refresh.
    assert refresh(client, oauth2_client, body["refresh_token"]).status_code == 200
    assert whoami(client, Authorization=f"Bearer {body['access_token']}").status_code == 200
    assert services.refresh_count() == 2


def test_reuse_detection_can_revoke_the_grant(client, oauth2_client, sandbox_user, settings):
    """With SANDBOX_REVOKE_ON_REFRESH_REUSE a replayed refresh token kills the whole grant."""
    settings.SANDBOX_REVOKE_ON_REFRESH_REUSE = True
    tokens = exchange(client, oauth2_client, get_code(client, oauth2_client.client_id),
                      verifier=None).json()
    renewed = refresh(client, oauth2_client, tokens["refresh_token"]).json()
    assert refresh(client, oauth2_client, tokens["refresh_token"]).status_code == 400
    assert refresh(client, oauth2_client, renewed["refresh_token"]).status_code == 400
    assert whoami(client, Authorization=f"Bearer {renewed['access_token']}").status_code == 401


def test_refresh_token_of_another_client_is_invalid_grant(client, oauth2_client, sandbox_user):
    """A refresh token only works for the client it was issued to."""
    tokens = exchange(client, oauth2_client, get_code(client, oauth2_client.client_id),
                      verifier=None).json()
    other_id, other_secret = services.register_client(name="Other", redirect_uri=CALLBACK)
    response = form_post(client, TOKEN, {"grant_type": "refresh_token",
                                         "refresh_token": tokens["refresh_token"],
                                         "client_id": other_id, "client_secret": other_secret})
    assert response.json()["error"] == "invalid_grant"
    assert refresh(client, oauth2_client, tokens["refresh_token"]).status_code == 200


def test_client_credentials_grant(client, oauth2_client):
    """Client credentials: an access token without a refresh token, acting as the client."""
    response = token_request(client, oauth2_client, grant_type="client_credentials",
                             scope="read")
    body = response.json()
    assert response.status_code == 200, body
    assert "refresh_token" not in body
    assert body["scope"] == "read" and body["expires_in"] == 3600
    me = whoami(client, Authorization=f"Bearer {body['access_token']}").json()
    assert me == {"id": f"client:{oauth2_client.client_id}", "username": "Hatchway Test App",
                  "auth": "oauth2", "scope": "read"}
    assert services.issued_count("client_credentials") == 1


def test_unknown_scope_is_invalid_scope(client, oauth2_client):
    """Scopes outside the sandbox's list are refused."""
    response = token_request(client, oauth2_client, grant_type="client_credentials",
                             scope="read launch_missiles")
    assert response.json()["error"] == "invalid_scope"


def test_client_secret_basic(client, oauth2_client):
    """The client may authenticate with HTTP Basic instead of the form body."""
    response = form_post(client, TOKEN, {"grant_type": "client_credentials"},
                         Authorization=basic(oauth2_client.client_id, oauth2_client.secret))
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read"


def test_wrong_client_secret_is_invalid_client(client, oauth2_client):
    """A wrong secret, by either method, is invalid_client (401) and issues nothing."""
    post = form_post(client, TOKEN, {"grant_type": "client_credentials",
                                     "client_id": oauth2_client.client_id,
                                     "client_secret": "fake-wrong-secret"})
    with_basic = form_post(client, TOKEN, {"grant_type": "client_credentials"},
                           Authorization=basic(oauth2_client.client_id, "nope"))
    for response in (post, with_basic):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    assert SandboxToken.objects.count() == 0


def test_two_client_authentication_methods_at_once_are_refused(client, oauth2_client):
    """RFC 6749 §2.3: a client uses one authentication method per request."""
    response = form_post(client, TOKEN, {"grant_type": "client_credentials",
                                         "client_secret": oauth2_client.secret},
                         Authorization=basic(oauth2_client.client_id, oauth2_client.secret))
    assert response.status_code == 401


def test_oauth1_consumer_cannot_use_the_oauth2_token_endpoint(client, consumer):
    """An OAuth 1.0a consumer key/secret is not an OAuth 2.0 client."""
    response = form_post(client, TOKEN, {"grant_type": "client_credentials",
                                         "client_id": consumer.client_id,
                                         "client_secret": consumer.secret})
    assert response.status_code == 401


def test_token_endpoint_refuses_get_and_undecodable_bodies(client, oauth2_client):
    """Only POST with a UTF-8 body reaches oauthlib."""
    assert client.get(TOKEN).status_code == 405
    response = client.post(TOKEN, b"grant_type=\xff\xfe",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_expired_access_token_is_refused(client, oauth2_client):
    """Access tokens expire."""
    body = token_request(client, oauth2_client, grant_type="client_credentials").json()
    SandboxToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert whoami(client, Authorization=f"Bearer {body['access_token']}").status_code == 401


def test_revoking_the_access_token_makes_whoami_401(client, oauth2_client, sandbox_user):
    """RFC 7009: after revocation the access token no longer opens /api/me; refresh still works."""
    tokens = exchange(client, oauth2_client, get_code(client, oauth2_client.client_id),
                      verifier=None).json()
    response = form_post(client, REVOKE, {"token": tokens["access_token"],
                                          "token_type_hint": "access_token",
                                          "client_id": oauth2_client.client_id,
                                          "client_secret": oauth2_client.secret})
    assert response.status_code == 200
    assert whoami(client, Authorization=f"Bearer {tokens['access_token']}").status_code == 401
    assert refresh(client, oauth2_client, tokens["refresh_token"]).status_code == 200


def test_revoking_the_refresh_token_revokes_the_grant(client, oauth2_client, sandbox_user):
    """Revoking a refresh token (hint honoured, Basic auth) also kills its access tokens."""
    tokens = exchange(client, oauth2_client, get_code(client, oauth2_client.client_id),
                      verifier=None).json()
    response = form_post(client, REVOKE, {"token": tokens["refresh_token"],
                                          "token_type_hint": "refresh_token"},
                         Authorization=basic(oauth2_client.client_id, oauth2_client.secret))
    assert response.status_code == 200
    reused = refresh(client, oauth2_client, tokens["refresh_token"])
    assert reused.json()["error"] == "invalid_grant"
    assert whoami(client, Authorization=f"Bearer {tokens['access_token']}").status_code == 401


def test_revocation_with_a_misleading_hint_still_finds_the_token(client, oauth2_client):
    """The hint orders the lookup; a wrong hint does not stop the revocation (RFC 7009 §2.1)."""
    body = token_request(client, oauth2_client, grant_type="client_credentials").json()
    form_post(client, REVOKE, {"token": body["access_token"], "token_type_hint": "refresh_token",
                               "client_id": oauth2_client.client_id,
                               "client_secret": oauth2_client.secret})
    assert whoami(client, Authorization=f"Bearer {body['access_token']}").status_code == 401


def test_revocation_needs_the_owning_client(client, oauth2_client):
    """Another client cannot revoke a token (200 per RFC 7009, nothing revoked); no auth → 401."""
    body = token_request(client, oauth2_client, grant_type="client_credentials").json()
    other_id, other_secret = services.register_client(name="Other", redirect_uri=CALLBACK)
    response = form_post(client, REVOKE, {"token": body["access_token"], "client_id": other_id,
                                          "client_secret": other_secret})
    assert response.status_code == 200
    assert form_post(client, REVOKE, {"token": body["access_token"]}).status_code == 401
    assert whoami(client, Authorization=f"Bearer {body['access_token']}").status_code == 200


def test_deny_redirects_with_access_denied_and_state(client, oauth2_client, sandbox_user):
    """Deny → back to the client with error=access_denied and the state; no code issued."""
    response = consent(client, authorize_url(oauth2_client.client_id), decision="deny")
    assert response.status_code == 302
    assert response["Location"].startswith(CALLBACK + "?")
    params = query(response["Location"])
    assert params["error"] == "access_denied" and params["state"] == "fake-state-abc"
    assert "code" not in params
    assert AuthorizationCode.objects.count() == 0


def test_unregistered_redirect_uri_is_not_redirected_to(client, oauth2_client):
    """An unknown redirect_uri or client gets an error page at the sandbox, never a redirect."""
    evil = client.get(authorize_url(oauth2_client.client_id,
                                    redirect_uri="https://evil.example/callback"))
    unknown = client.get(authorize_url("no-such-client"))
    for response in (evil, unknown):
        assert response.status_code == 400
        assert "Request refused" in response.content.decode()
    assert client.post(authorize_url(oauth2_client.client_id,
                                     redirect_uri="https://evil.example/callback"),
                       {"decision": "deny"}).status_code == 400


def test_consent_post_needs_a_decision_and_csrf(oauth2_client, sandbox_user):
    """The consent form is CSRF-protected; a POST without a decision issues nothing."""
    strict = Client(enforce_csrf_checks=True)
    url = authorize_url(oauth2_client.client_id)
    assert strict.post(url, {"decision": "allow"}).status_code == 403
    assert Client().post(url, {}).status_code == 400
    assert AuthorizationCode.objects.count() == 0


def test_acting_user_is_created_on_demand(client, oauth2_client):
    """With no sandbox user yet, consent is given as a new "demo-user"."""
    page = client.get(authorize_url(oauth2_client.client_id))
    assert "demo-user" in page.content.decode()
    code = get_code(client, oauth2_client.client_id)
    body = exchange(client, oauth2_client, code, verifier=None).json()
    me = whoami(client, Authorization=f"Bearer {body['access_token']}").json()
    assert me["username"] == "demo-user"


def test_requests_oauthlib_client_completes_the_code_flow(client, oauth2_client, sandbox_user,
                                                           sandbox_transport):
    """connectors.http.OAuth2 (requests-oauthlib) with PKCE and Basic auth, in-process."""
    from connectors import http

    session = http.OAuth2(oauth2_client.client_id, redirect_uri=CALLBACK,
                          scope=["read", "profile"], pkce="S256")
    url, state = session.authorization_url("http://testserver/sandbox/oauth2/authorize")
    location = consent(client, url.removeprefix("http://testserver"))["Location"]
    token = session.fetch_token("http://testserver/sandbox/oauth2/token",
                                authorization_response=location,
                                client_secret=oauth2_client.secret)
    assert token["scope"] == ["read", "profile"]
    assert sandbox_transport.calls[-1].headers["Authorization"].startswith("Basic ")
    assert session.get("http://testserver/sandbox/api/me").json()["auth"] == "oauth2"

    renewed = session.refresh_token("http://testserver/sandbox/oauth2/token",
                                    client_id=oauth2_client.client_id,
                                    client_secret=oauth2_client.secret, include_client_id=True)
    assert renewed["refresh_token"] != token["refresh_token"]
    assert "client_secret=" in sandbox_transport.calls[-1].body
    assert services.refresh_count() == 1


def test_hostile_authorization_requests_never_500(client, oauth2_client, sandbox_user):
    """Duplicated, malformed or unsupported parameters → a 400 page or an error redirect."""
    base = authorize_url(oauth2_client.client_id)
    urls = [
        base + "&client_id=" + oauth2_client.client_id,
        base + "&state=second-state",
        base + "&code_challenge=abc&code_challenge_method=S512",
        base.replace("response_type=code", "response_type=token"),
        base.replace("response_type=code", "response_type=none"),
        base + "&redirect_uri=javascript:alert(1)",
        base + "&scope=%ZZ",
        "/sandbox/oauth2/authorize",
        "/sandbox/oauth2/authorize?\x00=1",
    ]
    for url in urls:
        for response in (client.get(url), client.post(url, {"decision": "allow"})):
            assert response.status_code in (302, 400), (url[-40:], response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(CALLBACK + "?")
                assert "error=" in response["Location"]
    assert AuthorizationCode.objects.count() == 0
