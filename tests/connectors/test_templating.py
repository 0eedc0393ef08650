"""Templated catalogue URLs: values must be plain host labels before they go into a URL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.schema import ConnectorSpec
from connectors.spec import validate
from connectors.templating import (
    TemplateValueError,
    is_host_label,
    render_url,
    url_keys,
)


@pytest.mark.parametrize("value", ["acme", "ACME-eu", "a", "x" * 63, "1st-connect", "a1"])
def test_host_labels_accepted(value):
    """Letters, digits and inner hyphens, 1-63 characters."""
    assert is_host_label(value)


@pytest.mark.parametrize("value", [
    "", "-acme", "acme-", "x" * 64, "evil.com", "a/b", "a b", "a@b", "a:80", "acme\n",
    "acme%2e", "ac\x00me", "ácme", "a?b", "a#b", "\u212aelvin", "\u017fhop",
])
def test_host_labels_refused(value):
    """Dots, slashes, ports, userinfo, spaces, newlines, non-ASCII: refused."""
    assert not is_host_label(value)


def test_render_fills_values_and_public_url(settings):
    """`{key}` from values, `{public_url}` from settings.PUBLIC_URL."""
    settings.PUBLIC_URL = "https://console.example"
    assert render_url("https://{subdomain}.zendesk.com/oauth/tokens", {"subdomain": "acme"}) == (
        "https://acme.zendesk.com/oauth/tokens")
    assert render_url("{public_url}/sandbox/oauth2/token", {}) == (
        "https://console.example/sandbox/oauth2/token")


@pytest.mark.parametrize("values", [{}, {"subdomain": ""}, {"subdomain": "evil.com/"},
                                    {"subdomain": "a@evil.com"}])
def test_render_refuses_missing_and_unsafe_values(values):
    """A missing or unsafe value raises, naming the key and never the value."""
    with pytest.raises(TemplateValueError) as caught:
        render_url("https://{subdomain}.zendesk.com/", values)
    assert caught.value.key == "subdomain"
    assert "evil" not in str(caught.value)


@given(st.text(max_size=80))
def test_rendered_host_never_escapes_the_template(value):
    """Whatever the value, a rendered URL keeps the template's host suffix and path."""
    try:
        url = render_url("https://{shop}.myshopify.com/admin/oauth/access_token", {"shop": value})
    except TemplateValueError:
        return
    host = url.split("/")[2]
    assert host == f"{value}.myshopify.com"
    assert url.endswith(".myshopify.com/admin/oauth/access_token")


def test_url_keys_lists_fields_used_in_urls():
    """The keys referenced by any auth or API URL (public_url excluded)."""
    data = {"name": "Z", "description": "d",
            "auth": {"type": "oauth2", "authorize_url": "https://{subdomain}.z.com/auth",
                     "token_url": "{public_url}/token"},
            "api": {"base_url": "https://{region}.api.z.com"},
            "fields": [{"key": "client_id", "label": "Client ID"},
                       {"key": "subdomain", "label": "Subdomain", "level": "account"},
                       {"key": "region", "label": "Region", "level": "account"},
                       {"key": "note", "label": "Note", "level": "account"}]}
    spec = ConnectorSpec.from_data("z", validate("z.toml", "z", data))
    assert url_keys(spec) == {"subdomain", "region"}


def test_authorize_params_placeholders_are_filled_and_validated():
    """Auth0's audience uses {tenant}/{region}: filled from values, unsafe values refused."""
    import pytest

    from connectors.auth import AUTH_METHODS
    from connectors.auth.base import AuthError, Context
    from connectors.schema import ConnectorSpec
    from connectors.spec import CATALOG_DIR, load_file

    slug, data = load_file(CATALOG_DIR / "auth0.toml")
    spec = ConnectorSpec.from_data(slug, data)
    method = AUTH_METHODS[spec.auth.type](Context(spec=spec, values={"tenant": "acme",
                                                                     "region": "eu"}))
    assert method.authorize_params() == {"audience": "https://acme.eu.auth0.com/api/v2/"}
    hostile = AUTH_METHODS[spec.auth.type](Context(spec=spec, values={"tenant": "evil.com/x",
                                                                      "region": "eu"}))
    with pytest.raises(AuthError):
        hostile.authorize_params()
