"""The sandbox's OAuth 1.0a provider: oauthlib's endpoints over a validator backed by models.

Request tokens (temporary credentials) need a registered callback, are answered with
`oauth_callback_confirmed=true`, live ten minutes and are exchanged once; every signed
request's nonce is recorded so a replay is refused; signatures are HMAC (SHA-1 or
SHA-256) with the consumer secret and token secret, both stored encrypted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauthlib.common import Request
from oauthlib.oauth1 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_HMAC_SHA256,
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849 import errors

from .models import (
    DEFAULT_SCOPES,
    SCOPES,
    OAuth1Nonce,
    OAuth1Token,
    SandboxClient,
    SandboxUser,
    digest,
    same_digest,
)

REQUEST_TOKEN_LIFETIME = timedelta(minutes=10)
# Stand-ins used when a key or token is unknown, so the signature check still runs and
# takes as long as for a real one (oauthlib's timing-attack guidance).
DUMMY_CLIENT = "sandboxdummyconsumer0000000000"
DUMMY_TOKEN = "sandboxdummytoken0000000000000"
DUMMY_SECRET = "sandbox-dummy-secret"


def same_endpoint(callback: str, registered: str) -> bool:
    """A callback matches the registered one in scheme, host, port and path; the query may
    differ (clients carry their own state there)."""
    if not registered:
        return False
    a, b = urlsplit(callback), urlsplit(registered)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path) and not a.fragment


class SandboxRequest(Request):
    """oauthlib's request as this validator sees it: the rows it found are put on it."""

    sandbox_client: SandboxClient
    sandbox_request_token: OAuth1Token


class OAuth1Validator(RequestValidator):
    """oauthlib's storage and policy hooks, answered from the sandbox models.

    `acting_user` is the sandbox user who authorizes request tokens on the consent page.
    """

    allowed_signature_methods = (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256)
    client_key_length = (20, 64)
    request_token_length = (20, 64)
    access_token_length = (20, 64)
    verifier_length = (20, 64)
    nonce_length = (8, 64)
    realms = list(SCOPES)

    def __init__(self, acting_user: SandboxUser | None = None) -> None:
        super().__init__()
        self.acting_user = acting_user

    @property
    def enforce_ssl(self) -> bool:
        return not settings.ALLOW_LOCAL_PROVIDERS

    @property
    def dummy_client(self) -> str:
        return DUMMY_CLIENT

    @property
    def dummy_request_token(self) -> str:
        return DUMMY_TOKEN

    @property
    def dummy_access_token(self) -> str:
        return DUMMY_TOKEN

    # -- lookups (cached on the oauthlib request) -----------------------------

    def _consumer(self, client_key: str | None, request: SandboxRequest) -> SandboxClient | None:
        cached: SandboxClient | None = getattr(request, "sandbox_client", None)
        if cached is not None and cached.client_id == client_key:
            return cached
        client = SandboxClient.objects.filter(kind=SandboxClient.Kind.OAUTH1,
                                              client_id=client_key or "").first()
        if client is not None:
            request.sandbox_client = client
        return client

    def _token(self, kind: str, client_key: str | None, token: str | None,
               request: SandboxRequest) -> OAuth1Token | None:
        cache = f"sandbox_{kind}_token"
        cached: OAuth1Token | None = getattr(request, cache, None)
        if cached is not None and same_digest(token, cached.token_hash):
            return cached
        row = (OAuth1Token.objects.select_related("client", "user")
               .filter(kind=kind, token_hash=digest(token or "")).first())
        if row is None or (client_key is not None and row.client.client_id != client_key):
            return None
        setattr(request, cache, row)
        return row

    def _request_token(self, token: str | None, request: SandboxRequest,
                       client_key: str | None = None) -> OAuth1Token | None:
        row = self._token(OAuth1Token.Kind.REQUEST, client_key, token, request)
        return row if row is not None and row.is_pending() else None

    # -- secrets ---------------------------------------------------------------

    def get_client_secret(self, client_key: str, request: SandboxRequest) -> str:
        client = self._consumer(client_key, request)
        return (client.secrets.get("consumer_secret") if client else None) or DUMMY_SECRET

    def get_request_token_secret(self, client_key: str, token: str, request: SandboxRequest) -> str:
        row = self._token(OAuth1Token.Kind.REQUEST, client_key, token, request)
        return (row.secrets.get("token_secret") if row else None) or DUMMY_SECRET

    def get_access_token_secret(self, client_key: str, token: str, request: SandboxRequest) -> str:
        row = self._token(OAuth1Token.Kind.ACCESS, client_key, token, request)
        return (row.secrets.get("token_secret") if row else None) or DUMMY_SECRET

    def get_rsa_key(self, client_key: str, request: SandboxRequest) -> None:
        """Never called: RSA methods are not in `allowed_signature_methods`."""
        return None

    # -- realms and callbacks ----------------------------------------------------

    def get_default_realms(self, client_key: str, request: SandboxRequest) -> list[str]:
        return list(DEFAULT_SCOPES)

    def get_realms(self, token: str, request: SandboxRequest) -> list[str]:
        row = self._token(OAuth1Token.Kind.REQUEST, None, token, request)
        return row.realms.split() if row else []

    def get_redirect_uri(self, token: str, request: SandboxRequest) -> str:
        row = self._token(OAuth1Token.Kind.REQUEST, None, token, request)
        assert row is not None  # asked only once the request token was verified
        callback: str = row.secrets["callback"]
        return callback

    def validate_redirect_uri(self, client_key: str, redirect_uri: str,
                              request: SandboxRequest) -> bool:
        client = self._consumer(client_key, request)
        return client is not None and same_endpoint(redirect_uri, client.redirect_uri)

    def validate_requested_realms(self, client_key: str, realms: list[str],
                                  request: SandboxRequest) -> bool:
        return set(realms) <= set(SCOPES)

    def validate_realms(self, client_key: str, token: str, request: SandboxRequest,
                        uri: str | None = None, realms: list[str] | None = None) -> bool:
        row = self._token(OAuth1Token.Kind.ACCESS, client_key, token, request)
        return row is not None and set(realms or []) <= set(row.realms.split())

    def verify_realms(self, token: str, realms: list[str], request: SandboxRequest) -> bool:
        row = self._request_token(token, request)
        return row is not None and set(realms) <= set(row.realms.split())

    # -- validation --------------------------------------------------------------

    def validate_client_key(self, client_key: str, request: SandboxRequest) -> bool:
        return self._consumer(client_key, request) is not None

    def validate_request_token(self, client_key: str, token: str, request: SandboxRequest) -> bool:
        return self._request_token(token, request, client_key) is not None

    def validate_access_token(self, client_key: str, token: str, request: SandboxRequest) -> bool:
        row = self._token(OAuth1Token.Kind.ACCESS, client_key, token, request)
        return row is not None and row.revoked_at is None

    def verify_request_token(self, token: str | None, request: SandboxRequest) -> bool:
        """The consent page's check: a pending request token not yet authorized."""
        row = self._request_token(token, request)
        return row is not None and row.authorized_at is None

    def validate_verifier(self, client_key: str, token: str, verifier: str,
                          request: SandboxRequest) -> bool:
        row = self._request_token(token, request, client_key)
        stored = row.verifier_hash if row is not None and row.user_id else ""
        # Compare even when there is nothing to compare with, to keep the timing flat.
        return same_digest(verifier, stored or digest(DUMMY_SECRET)) and bool(stored)

    def validate_timestamp_and_nonce(self, client_key: str, timestamp: str, nonce: str,
                                     request: SandboxRequest, request_token: str | None = None,
                                     access_token: str | None = None) -> bool:
        """Record the nonce; a second sighting with the same timestamp, client and token
        is a replay. (oauthlib has already refused timestamps older than 10 minutes.)"""
        token = request_token or access_token
        cutoff = timezone.now() - timedelta(seconds=2 * self.timestamp_lifetime)
        OAuth1Nonce.objects.filter(created_at__lt=cutoff).delete()
        try:
            with transaction.atomic():
                OAuth1Nonce.objects.create(client_key=client_key, timestamp=int(timestamp),
                                           nonce=nonce, token_hash=digest(token) if token else "")
        except IntegrityError:
            return False
        return True

    # -- saving --------------------------------------------------------------------

    def save_request_token(self, token: dict[str, str], request: SandboxRequest) -> None:
        OAuth1Token.objects.create(
            client=request.sandbox_client, kind=OAuth1Token.Kind.REQUEST,
            token_hash=digest(token["oauth_token"]),
            secrets={"token_secret": token["oauth_token_secret"],
                     "callback": request.redirect_uri},
            realms=" ".join(request.realms or []),
            expires_at=timezone.now() + REQUEST_TOKEN_LIFETIME,
        )

    def save_verifier(self, token: str, verifier: dict[str, str], request: SandboxRequest) -> None:
        OAuth1Token.objects.filter(kind=OAuth1Token.Kind.REQUEST, token_hash=digest(token)).update(
            user=self.acting_user, verifier_hash=digest(verifier["oauth_verifier"]),
            authorized_at=timezone.now())

    def save_access_token(self, token: dict[str, str], request: SandboxRequest) -> None:
        """Use up the request token (atomically: a racing twin loses), then store the
        access token for the user who authorized it."""
        source = request.sandbox_request_token
        claimed = OAuth1Token.objects.filter(pk=source.pk, used_at__isnull=True).update(
            used_at=timezone.now())
        if not claimed:
            raise errors.InvalidRequestError(description="The request token was already used.")
        OAuth1Token.objects.create(
            client=source.client, user=source.user, kind=OAuth1Token.Kind.ACCESS,
            token_hash=digest(token["oauth_token"]),
            secrets={"token_secret": token["oauth_token_secret"]},
            realms=token.get("oauth_authorized_realms", ""),
        )

    def invalidate_request_token(self, client_key: str, request_token: str,
                                 request: SandboxRequest) -> None:
        OAuth1Token.objects.filter(kind=OAuth1Token.Kind.REQUEST, token_hash=digest(request_token),
                                   used_at__isnull=True).update(used_at=timezone.now())

    def deny_request_token(self, token: str, request: SandboxRequest) -> str:
        """The user said no: use up the token and return the callback to tell the client."""
        row = self._request_token(token, request)
        if row is None or row.authorized_at is not None:
            raise errors.InvalidClientError()
        OAuth1Token.objects.filter(pk=row.pk).update(used_at=timezone.now())
        callback: str = row.secrets["callback"]
        return callback


def endpoints(acting_user: SandboxUser | None = None) -> dict[str, Any]:
    validator = OAuth1Validator(acting_user)
    return {
        "request_token": RequestTokenEndpoint(validator),
        "authorize": AuthorizationEndpoint(validator),
        "access_token": AccessTokenEndpoint(validator),
        "resource": ResourceEndpoint(validator),
    }
