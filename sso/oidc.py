"""OpenID Connect for the console's single sign-on (issue 23): discovery, the authorization
code flow with PKCE, state and nonce, and the ID token's validation.

Kept libraries do the protocol: Authlib's requests client builds the authorization URL
(PKCE S256) and exchanges the code (client authentication as the provider's discovery
document allows), joserfc -- the JOSE library Authlib itself uses -- verifies the ID
token's signature against the provider's JWKS and checks its claims. Every request goes
through connectors/http.py (the SSRF guard, the deadline, no redirect of the token
request); this app sits above connectors in the layers for that (.importlinter).

Specifications: OpenID Connect Core 1.0 §3.1 (code flow; §3.1.3.7 the ID token's checks),
OpenID Connect Discovery 1.0 §4 (the issuer must be exactly the one asked for), RFC 7636
(PKCE), RFC 9207 (the `iss` parameter of the authorization response).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from django.conf import settings
from django.urls import reverse
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from connectors import http
from teams.models import SingleSignOn
from teams.single_sign_on import Identity, SignInRefused

DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 256 * 1024
#: Signature algorithms accepted for ID tokens: asymmetric only, never "none" nor HS*
#: (a token signed with the client secret would prove nothing the secret's holder could
#: not forge).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
              "ES512", "EdDSA"]
SCOPE = "openid email profile"
PENDING_SECONDS = 600
LEEWAY_SECONDS = 60


class ProviderError(Exception):
    """The identity provider could not be reached or answered nonsense (message for the
    page; never a secret)."""


def callback_url() -> str:
    """The redirect URI to register at the identity provider, built from PUBLIC_URL."""
    return f"{settings.PUBLIC_URL}{reverse('sso:callback')}"


def _fetch_json(url: str) -> dict[str, Any]:
    try:
        answer = http.get_untrusted(url, timeout=settings.OUTBOUND_TIMEOUT,
                                    max_bytes=MAX_DOCUMENT_BYTES)
    except http.UnsafeURL as exc:
        raise ProviderError(f"{url} cannot be used: {exc}") from None
    except requests.RequestException:
        raise ProviderError(f"{url} could not be reached.") from None
    if answer.status_code != 200:
        raise ProviderError(f"{url} answered HTTP {answer.status_code}.")
    try:
        document = json.loads(answer.body)
    except ValueError:
        raise ProviderError(f"{url} did not answer JSON.") from None
    if not isinstance(document, dict):
        raise ProviderError(f"{url} did not answer a JSON object.")
    return document


def discover(issuer: str) -> dict[str, Any]:
    """The endpoints of `issuer` from its discovery document, checked: the document names
    exactly this issuer, and the endpoints the sign-in needs are there and may be called."""
    issuer = issuer.rstrip("/")
    document = _fetch_json(f"{issuer}{DISCOVERY_PATH}")
    if document.get("issuer", "").rstrip("/") != issuer:
        raise ProviderError("The discovery document names another issuer "
                            f"({str(document.get('issuer'))[:200]!r}), so it is not this "
                            "provider's.")
    provider: dict[str, Any] = {"issuer": document["issuer"]}
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(key)
        if not isinstance(value, str) or not value:
            raise ProviderError(f"The discovery document has no {key}.")
        try:
            http.check_url(value)
        except http.UnsafeURL as exc:
            raise ProviderError(f"The {key} cannot be used: {exc}") from None
        provider[key] = value
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    provider["token_auth"] = ("client_secret_basic" if "client_secret_basic" in methods
                              else "client_secret_post")
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    provider["algorithms"] = [a for a in ALGORITHMS if a in algorithms]
    if not provider["algorithms"]:
        raise ProviderError("The provider signs ID tokens with no algorithm Hatchway accepts "
                            f"(it accepts {', '.join(ALGORITHMS)}).")
    return provider


def _client(sso: SingleSignOn) -> http.OIDCClient:
    return http.OIDCClient(client_id=sso.client_id, client_secret=sso.client_secret,
                           token_endpoint_auth_method=sso.provider.get("token_auth"),
                           scope=SCOPE, redirect_uri=callback_url(),
                           code_challenge_method="S256")


def begin(sso: SingleSignOn, *, next_url: str = "") -> tuple[str, dict[str, Any]]:
    """The identity provider's authorization URL, and what the session keeps until the
    callback (the state, the nonce and the PKCE verifier: never shown to anyone)."""
    state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
    with _client(sso) as client:
        url, _ = client.create_authorization_url(sso.provider["authorization_endpoint"],
                                                 state=state, code_verifier=verifier,
                                                 nonce=nonce)
    pending = {"sso": sso.pk, "state": state, "nonce": nonce, "verifier": verifier,
               "at": time.time(), "next": next_url}
    return str(url), pending


@dataclass(frozen=True)
class Callback:
    """The authorization response's parameters."""

    state: str
    code: str
    error: str
    iss: str


def finish(sso: SingleSignOn, pending: dict[str, Any], answer: Callback) -> Identity:
    """Check the authorization response against the pending sign-in, exchange the code and
    validate the ID token; the identity it vouches for (SignInRefused, ProviderError)."""
    if not answer.state or not secrets.compare_digest(answer.state, pending["state"]):
        raise SignInRefused("This sign-in link does not belong to your sign-in. Start again.",
                            reason="state_mismatch")
    if time.time() - pending["at"] > PENDING_SECONDS:
        raise SignInRefused("The sign-in took too long. Start again.", reason="expired")
    if answer.iss and answer.iss.rstrip("/") != sso.issuer.rstrip("/"):
        raise SignInRefused("The answer came from another identity provider.",
                            reason="wrong_issuer")
    if answer.error:
        raise SignInRefused("The identity provider did not sign you in "
                            f"({answer.error[:100]}).", reason="provider_error")
    if not answer.code:
        raise SignInRefused("The identity provider sent no authorization code.",
                            reason="no_code")
    id_token = _exchange(sso, answer.code, pending["verifier"])
    claims = validate_id_token(sso, id_token, nonce=pending["nonce"])
    return Identity(subject=str(claims["sub"]), email=str(claims.get("email") or ""),
                    email_verified=claims.get("email_verified") in (True, "true"),
                    name=str(claims.get("name") or "")[:150])


def _exchange(sso: SingleSignOn, code: str, verifier: str) -> str:
    try:
        with _client(sso) as client:
            token = client.fetch_token(sso.provider["token_endpoint"], code=code,
                                       grant_type="authorization_code", code_verifier=verifier)
    except (http.UnsafeURL, requests.RequestException):
        raise ProviderError("The identity provider's token endpoint could not be "
                            "reached.") from None
    except Exception:  # Authlib's OAuthError and its kin: the provider refused the code
        raise SignInRefused("The identity provider refused the sign-in (the code "
                            "exchange failed).", reason="token_refused") from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SignInRefused("The identity provider sent no ID token.", reason="no_id_token")
    return id_token


def _claim_refusal(error: ClaimError) -> SignInRefused:
    messages = {
        "iss": ("The ID token was issued by another identity provider.", "wrong_issuer"),
        "aud": ("The ID token was issued for another application.", "wrong_audience"),
        "nonce": ("The ID token does not belong to this sign-in (its nonce does not match).",
                  "nonce_mismatch"),
        "sub": ("The ID token names no user.", "no_subject"),
    }
    message, reason = messages.get(error.claim, (
        f"The ID token's {error.claim!r} claim is not valid.", "invalid_claim"))
    if isinstance(error, MissingClaimError) and error.claim not in messages:
        message = f"The ID token has no {error.claim!r} claim."
    return SignInRefused(message, reason=reason)


def validate_id_token(sso: SingleSignOn, id_token: str, *, nonce: str) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS) and its issuer,
    audience, expiry, nonce and subject are checked (OIDC Core §3.1.3.7)."""
    keys = _key_set(sso)
    try:
        token = jwt.decode(id_token, keys, algorithms=sso.provider["algorithms"])
    except BadSignatureError:
        raise SignInRefused("The ID token's signature is not valid.",
                            reason="bad_signature") from None
    except (JoseError, ValueError):
        raise SignInRefused("The ID token could not be read or is signed with an unknown key.",
                            reason="unreadable_token") from None
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": sso.provider["issuer"]},
        aud={"essential": True, "value": sso.client_id},
        exp={"essential": True}, iat={"essential": True}, sub={"essential": True},
        nonce={"essential": True, "value": nonce})
    claims: dict[str, Any] = dict(token.claims)
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise SignInRefused("The ID token has expired.", reason="expired_token") from None
    except ClaimError as error:
        raise _claim_refusal(error) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != sso.client_id:
        raise SignInRefused("The ID token was issued for another application.",
                            reason="wrong_audience")
    return claims


def _key_set(sso: SingleSignOn) -> KeySet:
    try:
        document = _fetch_json(sso.provider["jwks_uri"])
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise ProviderError("The identity provider's signing keys (JWKS) could not be "
                            "read.") from None
