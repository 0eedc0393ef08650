"""Who calls the API and what it may do: the bearer key, its scopes, its rate.

A missing, malformed, unknown or revoked key is a 401 (with `WWW-Authenticate`), a key
without the view's scope a 403. Every object is then looked up among the key's
partner's own (`api.views.scoped`): another partner's ids are a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from api.models import ApiKey, Scope
from api.services import find_key


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer hw_…`. `request.auth` is the ApiKey; there is no user."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Send the API key as `Authorization: "
                                                  "Bearer <key>`.")
        key = find_key(token.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is invalid or revoked.")
        key.note_used()
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class HasScope(permissions.BasePermission):
    """An authenticated key with this scope (no key: 401; another scope: 403)."""

    scope = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False  # DRF answers 401: no authenticator succeeded
        if not key.has_scope(self.scope):
            self.message = f"This API key lacks the {Scope(self.scope).label} scope."
            return False
        return True


class CanManage(HasScope):
    scope = Scope.MANAGE


class CanReadCredentials(HasScope):
    scope = Scope.CREDENTIALS


class CanProxy(HasScope):
    scope = Scope.PROXY


class CanConfigure(HasScope):
    scope = Scope.CONFIGURE


class ReadsManageWritesConfigure(permissions.BasePermission):
    """The connectors: read with scope Manage (as ever), custom ones changed with Configure."""

    def has_permission(self, request: Request, view: Any) -> bool:
        needed = CanManage() if request.method in permissions.SAFE_METHODS else CanConfigure()
        allowed = needed.has_permission(request, view)
        if hasattr(needed, "message"):
            self.message = needed.message
        return allowed


class IsApiKey(HasScope):
    """Any valid key, whatever its scopes."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKey)


class KeyRateThrottle(throttling.SimpleRateThrottle):
    """API_RATE_LIMIT requests per key (e.g. "6000/min"), counted in the default cache.

    With one cache per process (Django's default, local memory) each process counts on
    its own; several processes or machines need a shared cache (CACHES, e.g. Redis or
    the database cache) for the limit to hold across them.
    """

    scope = "api_key"

    def get_rate(self) -> str:
        return str(settings.API_RATE_LIMIT)

    def allow_request(self, request: Request, view: Any) -> bool:
        # Read per request, so changing the setting (tests, a reload) takes effect.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        if not isinstance(key, ApiKey):
            return None  # refused anyway; nothing to count
        return self.cache_format % {"scope": self.scope, "ident": key.pk}


class BearerKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular's registry hook is untyped
    """The schema's security scheme for `BearerKeyAuthentication`."""

    target_class = BearerKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "An API key from the console's API keys page (hw_…)."}
