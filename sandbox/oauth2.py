"""The sandbox's OAuth 2.0 provider: oauthlib's endpoints over a validator backed by models.

Offered: the authorization code grant with PKCE (S256 and plain; a client may require
it), refresh with rotation (a refresh token works once; a reused one is `invalid_grant`),
client credentials, RFC 7009 revocation, and Bearer-protected resources. Clients
authenticate with client_secret_basic or client_secret_post.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import timedelta
from typing import Any, cast
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from oauthlib.common import Request
from oauthlib.oauth2 import (
    AuthorizationCodeGrant,
    AuthorizationEndpoint,
    BearerToken,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    RequestValidator,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749 import errors

from .models import (
    DEFAULT_SCOPES,
    SCOPES,
    AuthorizationCode,
    SandboxClient,
    SandboxToken,
    SandboxUser,
    digest,
)


class SandboxRequest(Request):
    """oauthlib's request as this validator sees it: the rows it found are put on it."""

    client: SandboxClient
    user: SandboxUser | None
    # Set by oauthlib (a client's default when none was sent) before a code is saved.
    redirect_uri: str
    code_challenge_method: str
    sandbox_code: AuthorizationCode
    sandbox_grant: uuid.UUID
    sandbox_token: SandboxToken
    sandbox_refresh: SandboxToken


CODE_LIFETIME = timedelta(minutes=10)
GRANT_TYPES = {"authorization_code", "refresh_token", "client_credentials"}


def token_lifetime(request: Request | None = None) -> int:
    """Seconds an access token lives: settings.SANDBOX_TOKEN_LIFETIME, read on every issue."""
    return int(getattr(settings, "SANDBOX_TOKEN_LIFETIME", 3600))


@sensitive_variables("value", "decoded", "password")
def decode_basic(value: str) -> tuple[str, str] | None:
    """(user, password) from the credentials part of an HTTP Basic header; None if malformed."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def presented_client_credentials(request: SandboxRequest) -> tuple[str | None, str | None]:
    """(client_id, client_secret) from HTTP Basic or the form body; (None, None) if malformed.

    Using both methods at once is refused (RFC 6749 §2.3: only one per request).
    """
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return request.client_id, request.client_secret
    pair = decode_basic(value)
    if request.client_secret is not None or pair is None:
        return None, None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    client_id, secret = (unquote_plus(part) for part in pair)
    if request.client_id and request.client_id != client_id:
        return None, None
    return client_id, secret


class OAuth2Validator(RequestValidator):
    """oauthlib's storage and policy hooks, answered from the sandbox models."""

    # -- clients --------------------------------------------------------------

    def _client(self, client_id: str | None, request: SandboxRequest) -> SandboxClient | None:
        cached = getattr(request, "client", None)
        if isinstance(cached, SandboxClient) and cached.client_id == client_id:
            return cached
        if not client_id:
            return None
        return SandboxClient.objects.filter(kind=SandboxClient.Kind.OAUTH2,
                                            client_id=client_id).first()

    def client_authentication_required(self, request: SandboxRequest, *args: Any,
                                       **kwargs: Any) -> bool:
        return True  # every sandbox client is confidential

    def authenticate_client(self, request: SandboxRequest, *args: Any, **kwargs: Any) -> bool:
        client_id, secret = presented_client_credentials(request)
        client = self._client(client_id, request)
        if client is None or not client.check_secret(secret):
            return False
        request.client, request.client_id = client, client.client_id
        return True

    def authenticate_client_id(self, client_id: str, request: SandboxRequest, *args: Any,
                               **kwargs: Any) -> bool:
        return False  # no public clients

    def validate_client_id(self, client_id: str, request: SandboxRequest, *args: Any,
                           **kwargs: Any) -> bool:
        client = self._client(client_id, request)
        if client is None:
            return False
        request.client = client
        return True

    def validate_grant_type(self, client_id: str, grant_type: str, client: SandboxClient,
                            request: SandboxRequest, *args: Any, **kwargs: Any) -> bool:
        return client.kind == SandboxClient.Kind.OAUTH2 and grant_type in GRANT_TYPES

    def validate_response_type(self, client_id: str, response_type: str, client: SandboxClient,
                               request: SandboxRequest, *args: Any, **kwargs: Any) -> bool:
        return response_type == "code"

    def is_pkce_required(self, client_id: str, request: SandboxRequest) -> bool:
        client = self._client(client_id, request)
        return bool(client and client.require_pkce)

    # -- redirect URIs and scopes ---------------------------------------------

    def get_default_redirect_uri(self, client_id: str, request: SandboxRequest, *args: Any,
                                 **kwargs: Any) -> str | None:
        client = self._client(client_id, request)
        return (client.redirect_uri or None) if client else None

    def validate_redirect_uri(self, client_id: str, redirect_uri: str, request: SandboxRequest,
                              *args: Any, **kwargs: Any) -> bool:
        # Exact string matching (RFC 9700 §4.1.3): no prefixes, no wildcards.
        client = self._client(client_id, request)
        return bool(client and client.redirect_uri and redirect_uri == client.redirect_uri)

    def confirm_redirect_uri(self, client_id: str, code: str, redirect_uri: str,
                             client: SandboxClient, request: SandboxRequest, *args: Any,
                             **kwargs: Any) -> bool:
        row: AuthorizationCode = request.sandbox_code
        if not row.redirect_uri:
            return redirect_uri == client.redirect_uri
        # Sent with the authorization request, so required and identical now (§4.1.3).
        return not request.using_default_redirect_uri and redirect_uri == row.redirect_uri

    def get_default_scopes(self, client_id: str, request: SandboxRequest, *args: Any,
                           **kwargs: Any) -> list[str]:
        return list(DEFAULT_SCOPES)

    def validate_scopes(self, client_id: str, scopes: list[str], client: SandboxClient,
                        request: SandboxRequest, *args: Any, **kwargs: Any) -> bool:
        return set(scopes) <= set(SCOPES)

    # -- authorization codes and PKCE ------------------------------------------

    def save_authorization_code(self, client_id: str, code: dict[str, str], request: SandboxRequest,
                                *args: Any, **kwargs: Any) -> None:
        challenge = request.code_challenge
        assert request.user is not None  # the consent page passes its user in credentials
        AuthorizationCode.objects.create(
            client=request.client, user=request.user, code_hash=digest(code["code"]),
            redirect_uri="" if request.using_default_redirect_uri else request.redirect_uri,
            scope=" ".join(request.scopes or []),
            code_challenge_method=request.code_challenge_method if challenge else "",
            secrets={"code_challenge": challenge} if challenge else {},
            expires_at=timezone.now() + CODE_LIFETIME,
        )

    def validate_code(self, client_id: str, code: str, client: SandboxClient,
                      request: SandboxRequest, *args: Any, **kwargs: Any) -> bool:
        row = (AuthorizationCode.objects.select_related("user")
               .filter(code_hash=digest(code or "")).first())
        if row is None or row.client_id != client.pk:
            return False
        if row.used_at is not None:
            # A replayed code: revoke what it produced (RFC 6749 §4.1.2).
            revoke_grant(row.grant)
            return False
        if row.expires_at <= timezone.now() or (row.code_challenge_method and not row.secrets):
            return False  # expired, or its PKCE challenge no longer decrypts
        request.user, request.scopes = row.user, row.scope.split()
        request.sandbox_code, request.sandbox_grant = row, row.grant
        return True

    def get_code_challenge(self, code: str, request: SandboxRequest) -> str | None:
        row = getattr(request, "sandbox_code", None)
        return row.secrets.get("code_challenge") if row and row.code_challenge_method else None

    def get_code_challenge_method(self, code: str, request: SandboxRequest) -> str | None:
        row = getattr(request, "sandbox_code", None)
        return (row.code_challenge_method or None) if row else None

    def claim_code(self, request: Request) -> None:
        """Mark the code used, atomically, once every check passed: a racing twin loses."""
        claimed = AuthorizationCode.objects.filter(
            pk=cast(SandboxRequest, request).sandbox_code.pk, used_at__isnull=True,
        ).update(used_at=timezone.now())
        if not claimed:
            raise errors.InvalidGrantError(request=request)

    def invalidate_authorization_code(self, client_id: str, code: str, request: SandboxRequest,
                                      *args: Any, **kwargs: Any) -> None:
        AuthorizationCode.objects.filter(code_hash=digest(code), used_at__isnull=True).update(
            used_at=timezone.now())

    # -- tokens ----------------------------------------------------------------

    def save_bearer_token(self, token: dict[str, Any], request: SandboxRequest, *args: Any,
                          **kwargs: Any) -> None:
        now = timezone.now()
        user = request.user if isinstance(request.user, SandboxUser) else None
        common = {
            "client": request.client, "user": user, "grant_type": request.grant_type,
            "scope": " ".join(request.scopes or []),
            "grant": getattr(request, "sandbox_grant", None) or uuid.uuid4(),
        }
        with transaction.atomic():
            SandboxToken.objects.create(
                kind=SandboxToken.Kind.ACCESS, token_hash=digest(token["access_token"]),
                expires_at=now + timedelta(seconds=int(token["expires_in"])), **common)
            if token.get("refresh_token"):
                SandboxToken.objects.create(kind=SandboxToken.Kind.REFRESH,
                                            token_hash=digest(token["refresh_token"]), **common)

    def validate_bearer_token(self, token: str, scopes: list[str] | None,
                              request: SandboxRequest) -> bool:
        row = (SandboxToken.objects.select_related("user", "client")
               .filter(kind=SandboxToken.Kind.ACCESS, token_hash=digest(token or "")).first())
        if row is None or not row.is_usable():
            return False
        granted = row.scope.split()
        if scopes and not set(scopes) <= set(granted):
            return False
        request.user, request.client, request.scopes = row.user, row.client, granted
        request.sandbox_token = row
        return True

    def validate_refresh_token(self, refresh_token: str, client: SandboxClient,
                               request: SandboxRequest, *args: Any, **kwargs: Any) -> bool:
        row = (SandboxToken.objects.select_related("user")
               .filter(kind=SandboxToken.Kind.REFRESH, token_hash=digest(refresh_token or ""))
               .first())
        if row is None or row.client_id != client.pk or row.revoked_at:
            return False
        if row.used_at is not None:
            if getattr(settings, "SANDBOX_REVOKE_ON_REFRESH_REUSE", False):
                revoke_grant(row.grant)  # RFC 9700 §4.14.2 reuse detection, when asked for
            return False
        request.user, request.sandbox_refresh, request.sandbox_grant = row.user, row, row.grant
        return True

    def get_original_scopes(self, refresh_token: str, request: SandboxRequest, *args: Any,
                            **kwargs: Any) -> list[str]:
        return request.sandbox_refresh.scope.split()

    def rotate_refresh_token(self, request: SandboxRequest) -> bool:
        return True

    def claim_refresh_token(self, request: Request) -> None:
        """Use up the refresh token atomically once the request is valid (rotation)."""
        claimed = SandboxToken.objects.filter(
            pk=cast(SandboxRequest, request).sandbox_refresh.pk, used_at__isnull=True,
            revoked_at__isnull=True,
        ).update(used_at=timezone.now())
        if not claimed:
            raise errors.InvalidGrantError(request=request)

    def revoke_token(self, token: str, token_type_hint: str | None, request: SandboxRequest,
                     *args: Any, **kwargs: Any) -> None:
        """RFC 7009: look where the hint points first, then everywhere; only the caller's own.

        Revoking a refresh token revokes its whole grant (access tokens included, §2.1);
        revoking an access token revokes just that token.
        """
        kinds = [SandboxToken.Kind.ACCESS, SandboxToken.Kind.REFRESH]
        if token_type_hint == "refresh_token":
            kinds.reverse()
        for kind in kinds:
            row = SandboxToken.objects.filter(kind=kind, token_hash=digest(token),
                                              client=request.client).first()
            if row is None:
                continue
            if kind == SandboxToken.Kind.REFRESH:
                revoke_grant(row.grant)
            else:
                SandboxToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
            return


def revoke_grant(grant: uuid.UUID) -> None:
    """Revoke every token issued under one authorization."""
    SandboxToken.objects.filter(grant=grant, revoked_at__isnull=True).update(
        revoked_at=timezone.now())


class SandboxServer(AuthorizationEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint):
    """oauthlib's `Server`, narrowed to the grants the sandbox offers.

    Unlike the stock servers, codes and refresh tokens are claimed with a conditional
    UPDATE as the last validation step, so two concurrent requests with the same code
    or refresh token cannot both succeed.
    """

    def __init__(self, validator: OAuth2Validator | None = None) -> None:
        validator = validator or OAuth2Validator()
        self.auth_grant = AuthorizationCodeGrant(validator, post_token=[validator.claim_code])
        self.refresh_grant = RefreshTokenGrant(validator,
                                               post_token=[validator.claim_refresh_token])
        self.credentials_grant = ClientCredentialsGrant(validator)
        self.bearer = BearerToken(validator, expires_in=token_lifetime)
        AuthorizationEndpoint.__init__(self, default_response_type="code",
                                       response_types={"code": self.auth_grant},
                                       # oauthlib's own Server passes the token handler;
                                       # its stubs say a str.
                                       default_token_type=self.bearer)  # type: ignore[arg-type]
        TokenEndpoint.__init__(self, default_grant_type="authorization_code",
                               grant_types={"authorization_code": self.auth_grant,
                                            "refresh_token": self.refresh_grant,
                                            "client_credentials": self.credentials_grant},
                               default_token_type=self.bearer)  # type: ignore[arg-type]
        ResourceEndpoint.__init__(self, default_token="Bearer",
                                  token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, validator)
