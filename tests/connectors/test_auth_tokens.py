"""connectors.auth.tokens: shown info, kept refresh tokens, refused tokens, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.auth.base import AuthError, ErrorKind
from connectors.auth.tokens import (
    MAX_EXPIRES_IN,
    MAX_TOKEN_LENGTH,
    check_tokens,
    expiry,
    keep_unreturned,
    public_info,
    sane_expires_in,
    unknown_lifetime,
)


def test_public_info_is_an_allow_list_of_short_scalars():
    data = {"access_token": "secret-a", "refresh_token": "secret-r", "jwt": "x.y.z",
            "scope": "read write", "expires_in": 3600, "instance_url": "https://na1.example",
            "team_name": "t" * 301, "account_id": {"nested": 1}, "shop": "acme"}
    assert public_info(data, skip=("shop",)) == {
        "scope": "read write", "expires_in": 3600, "instance_url": "https://na1.example"}


def test_unreturned_refresh_token_and_scope_are_kept():
    previous = {"access_token": "old", "refresh_token": "r-old", "scope": "read"}
    assert keep_unreturned(previous, {"access_token": "new", "refresh_token": ""}) == {
        "access_token": "new", "refresh_token": "r-old", "scope": "read"}
    assert keep_unreturned(previous, {"access_token": "new", "refresh_token": "r-new",
                                      "scope": "write"}) == {
        "access_token": "new", "refresh_token": "r-new", "scope": "write"}
    assert keep_unreturned({"access_token": "old"}, {"access_token": "new"}) == {
        "access_token": "new"}


@pytest.mark.parametrize("value, problem", [
    (123, "not text"), ("a" * (MAX_TOKEN_LENGTH + 1), "longer than 16 KB"),
    ("abc\r\nX-Injected: 1", "control characters"), ("abc\x00", "control characters"),
])
def test_bad_tokens_are_refused_without_quoting_them(value, problem):
    with pytest.raises(AuthError) as refused:
        check_tokens({"access_token": value}, ("access_token", "refresh_token"),
                     "The token response")
    assert refused.value.kind == ErrorKind.TOKEN_ERROR
    assert problem in refused.value.message and "access token" in refused.value.message
    if isinstance(value, str):
        assert value[:8] not in refused.value.message  # the token is never quoted


def test_good_and_absent_tokens_pass():
    check_tokens({"access_token": "a" * MAX_TOKEN_LENGTH}, ("access_token", "refresh_token"),
                 "The token response")


@pytest.mark.parametrize("given, seconds", [
    (3600, 3600), ("3600", 3600), (0.4, 1), (MAX_EXPIRES_IN, MAX_EXPIRES_IN),
    (0, None), (-5, None), (MAX_EXPIRES_IN + 1, None), ("soon", None), (True, None),
    (float("nan"), None), (None, None), ("1e999", None),
])
def test_sane_expires_in(given, seconds):
    assert sane_expires_in(given) == seconds


def test_expiry(settings):
    settings.TOKEN_REFRESH_MARGIN = 300
    assert expiry(None) is None and expiry("") is None
    now = timezone.now()
    assert abs(expiry(3600) - (now + timedelta(seconds=3600))) < timedelta(seconds=5)
    # Nonsense: a short unknown lifetime (twice the margin), refreshed within one margin.
    assert abs(expiry("nonsense") - (now + timedelta(seconds=600))) < timedelta(seconds=5)
    assert unknown_lifetime(7200) == 7200 and unknown_lifetime() == 600
