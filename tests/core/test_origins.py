"""core.origins: canonical origins, allowlists and return-URL checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core import origins


@pytest.fixture
def production(settings):
    settings.ALLOW_LOCAL_PROVIDERS = False


@pytest.fixture
def local(settings):
    settings.ALLOW_LOCAL_PROVIDERS = True


@pytest.mark.parametrize("text, canonical", [
    ("https://App.Example.com", "https://app.example.com"),
    ("https://app.example.com/", "https://app.example.com"),
    ("https://app.example.com:443", "https://app.example.com"),
    ("https://app.example.com:8443", "https://app.example.com:8443"),
    ("  https://[::1]:9000 ", "https://[::1]:9000"),
])
def test_origins_are_canonical(production, text, canonical):
    assert origins.normalise_origin(text) == canonical


@pytest.mark.parametrize("text", [
    "", "app.example.com", "ftp://app.example.com", "https://app.example.com/path",
    "https://app.example.com?q=1", "https://user@app.example.com", "https://app.example.com:0",
    "https://app.example.com:99999", "https://exa mple.com", "https://[::1", "https://a_b.com",
    "https://" + "a" * 200 + ".com",
])
def test_anything_but_an_origin_is_refused(production, text):
    with pytest.raises(ValidationError, match="is not an origin"):
        origins.normalise_origin(text)


def test_plain_http_only_for_loopback_where_local_providers_are_allowed(settings):
    settings.ALLOW_LOCAL_PROVIDERS = True
    assert origins.normalise_origin("http://localhost:8000") == "http://localhost:8000"
    assert origins.normalise_origin("http://app.localhost:80") == "http://app.localhost"
    with pytest.raises(ValidationError, match="must use https"):
        origins.normalise_origin("http://app.example.com")
    settings.ALLOW_LOCAL_PROVIDERS = False
    with pytest.raises(ValidationError, match="must use https"):
        origins.normalise_origin("http://localhost:8000")


def test_parse_origins_dedupes_and_names_every_bad_line(production):
    assert origins.parse_origins("https://a.example\r\n\nhttps://A.example/\nhttps://b.example") \
        == ["https://a.example", "https://b.example"]
    with pytest.raises(ValidationError) as refused:
        origins.parse_origins("https://ok.example\nnope\nhttp://plain.example")
    assert len(refused.value.messages) == 2


def test_parse_origins_caps_the_list(production):
    lines = "\n".join(f"https://h{n}.example" for n in range(origins.MAX_ORIGINS + 1))
    with pytest.raises(ValidationError, match="At most 20 origins"):
        origins.parse_origins(lines)


def test_parse_origin_list_wants_a_list_of_strings(production):
    assert origins.parse_origin_list(["https://a.example/"]) == ["https://a.example"]
    for value in ("https://a.example", [1], {"a": "https://a.example"}, None):
        with pytest.raises(ValidationError, match="Enter a list of origins"):
            origins.parse_origin_list(value)


def test_stored_origins_drop_what_no_longer_parses(production):
    """A row written past the forms cannot inject a CSP directive."""
    stored = ["https://a.example", "https://a.example/", "https://x.example; script-src *", 7]
    assert origins.stored_origins(stored) == ["https://a.example"]
    assert origins.stored_origins("https://a.example") == []


@pytest.mark.parametrize("url", [
    "https://app.example.com/done?x=1",
    "https://APP.example.com:443/done",
])
def test_allowed_return_urls(production, url):
    assert origins.is_allowed_return_url(url, ["https://app.example.com"])
    assert origins.validate_return_url(url, ["https://app.example.com"]) == url


@pytest.mark.parametrize("url", [
    "https://evil.example/done", "https://app.example.com.evil.example/",
    "https://app.example.com:8443/", "http://app.example.com/", "/relative/path",
    "https:app.example.com", "\\\\evil.example", "javascript:alert(1)",
    "https://user@app.example.com/", "https://app.example.com/\nx", "https://[::1/",
])
def test_refused_return_urls(production, url):
    assert not origins.is_allowed_return_url(url, ["https://app.example.com"])
    with pytest.raises(ValidationError, match="allowed return URLs"):
        origins.validate_return_url(url, ["https://app.example.com"])


def test_an_empty_return_url_means_no_return(production):
    assert origins.validate_return_url("", []) == ""


def test_outcome_is_appended_to_the_query_and_the_fragment_dropped(local):
    assert origins.return_url_with_outcome(
        "https://app.example.com/done?x=1#frag", outcome="connected", connector_slug="acme") \
        == "https://app.example.com/done?x=1&status=connected&connector=acme"
    assert origins.return_url_with_outcome(
        "https://app.example.com/", outcome="cancelled", connector_slug="a b") \
        == "https://app.example.com/?status=cancelled&connector=a+b"
