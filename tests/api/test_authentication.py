"""api.authentication: the bearer key, its scopes and its rate, checked directly."""

from __future__ import annotations

import pytest
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api import services
from api.authentication import BearerKeyAuthentication, CanManage, CanProxy, IsApiKey
from api.models import ApiKey, Scope
from tests.api.helpers import make_key

pytestmark = pytest.mark.django_db


def request_with(header: str | None) -> Request:
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return Request(APIRequestFactory().get("/api/v1/installs", **headers))


def authenticate(header: str | None):
    return BearerKeyAuthentication().authenticate(request_with(header))


def test_no_header_is_no_attempt():
    """No Authorization header: another authenticator (or the 401) decides."""
    assert authenticate(None) is None


def test_a_valid_key_authenticates_and_notes_its_use(partner):
    key, token = make_key(partner)
    user, found = authenticate(f"Bearer {token}")
    assert found == key and not user.is_authenticated
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_the_scheme_is_case_insensitive_and_the_token_trimmed(partner):
    key, token = make_key(partner)
    assert authenticate(f"bearer   {token}  ")[1] == key


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer    ", "Token hw_x"])
def test_a_malformed_header_is_refused_with_guidance(header):
    with pytest.raises(exceptions.AuthenticationFailed, match="Authorization: Bearer <key>"):
        authenticate(header)


def test_an_unknown_or_revoked_key_is_refused(partner):
    key, token = make_key(partner)
    with pytest.raises(exceptions.AuthenticationFailed, match="invalid or revoked"):
        authenticate(f"Bearer {token}x")
    services.revoke_key(key=key, actor=None)
    with pytest.raises(exceptions.AuthenticationFailed, match="invalid or revoked"):
        authenticate(f"Bearer {token}")
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None  # refused: no use recorded


def test_the_challenge_names_the_bearer_scheme():
    assert BearerKeyAuthentication().authenticate_header(request_with(None)) == (
        'Bearer realm="api"')


def test_scopes_decide_permission(partner):
    """A key with Proxy only may proxy, not manage; the refusal names the missing scope."""
    key, _ = make_key(partner, Scope.PROXY)
    request = request_with(None)
    request.auth = key
    assert CanProxy().has_permission(request, None)
    manage = CanManage()
    assert not manage.has_permission(request, None)
    assert manage.message == "This API key lacks the Manage scope."
    assert IsApiKey().has_permission(request, None)


def test_no_key_has_no_permission():
    request = request_with(None)
    assert not IsApiKey().has_permission(request, None)
    assert not CanProxy().has_permission(request, None)
