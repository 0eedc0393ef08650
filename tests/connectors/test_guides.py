"""Connector guides: the searchable index and each connector's Authentication Setup Guide."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.templatetags.guide_text import guide_text
from tests.factories import make_connector

FIRST_CONNECT = {
    "name": "1st Connect",
    "description": "CRM contacts over OAuth 1.0a.",
    "categories": ["CRM"],
    "website": "https://www.1stconnect.example",
    "auth": {
        "type": "oauth1",
        "request_token_url": "https://api.1stconnect.example/oauth/request_token",
        "authorize_url": "https://app.1stconnect.example/oauth/authorize",
        "access_token_url": "https://api.1stconnect.example/oauth/access_token",
    },
    "fields": [
        {"key": "consumer_key", "label": "Consumer Key", "help": "The key of your app."},
        {"key": "consumer_secret", "label": "Consumer Secret", "secret": True,
         "help": "Shown next to the key."},
        {"key": "region", "label": "Region", "level": "account", "help": "eu or us."},
    ],
    "guide": {
        "requirements": "A 1st Connect developer account.",
        "credentials": "Open the developer portal.\n\n1. Register an app.\n2. Copy the "
                       "<Consumer Key>.\n\n- Keep it safe\n- See https://docs.1stconnect.example",
        "account_setup": "The customer picks a region.",
    },
}
ZENDESK_LIKE = {
    "name": "Helpdesk", "description": "Tickets.", "categories": ["Support"],
    "auth": {"type": "api_key", "header": "Authorization", "prefix": "Bearer "},
    "fields": [{"key": "api_key", "label": "API token", "level": "account", "secret": True}],
}


@pytest.fixture
def connectors(db) -> None:
    make_connector("1st-connect", FIRST_CONNECT)
    make_connector("helpdesk", ZENDESK_LIKE)


def guide_url(slug: str = "1st-connect") -> str:
    return reverse("connectors:guide", args=[slug])


def test_index_lists_guides_and_is_current_nav(admin_client, connectors):
    """The index has its heading, the nav item is current, and links every guide."""
    html = admin_client.get(reverse("connectors:guides")).content.decode()
    assert "<h1>Connector guides</h1>" in html
    assert f'<a href="{reverse("connectors:guides")}" aria-current="page">' in html
    assert f'<a href="{guide_url()}">1st Connect Authentication Setup Guide</a>' in html
    assert f'<a href="{guide_url("helpdesk")}">' in html
    assert '<label for="id_q">Search connectors</label>' in html


def test_index_search(admin_client, connectors):
    """The index search is server-side and case-insensitive."""
    html = admin_client.get(reverse("connectors:guides"), {"q": "HELPDESK"}).content.decode()
    assert guide_url("helpdesk") in html and guide_url() not in html


def test_guide_sections_and_table(admin_client, connectors, settings):
    """The guide has its title, the three sections, and the Value/Description table."""
    settings.PUBLIC_URL = "https://console.example.com"
    settings.PUBLIC_HOST_REDIRECT = False  # the URL shown comes from PUBLIC_URL, not the Host
    html = admin_client.get(guide_url()).content.decode()
    assert "<h1>1st Connect Authentication Setup Guide</h1>" in html
    for heading in ('<h2 id="connector-setup">Connector setup</h2>', "<h3>Requirements</h3>",
                    "<h3>Get authentication details</h3>",
                    '<h2 id="partner-level">Partner level authentication</h2>',
                    '<h2 id="account-setup">Account setup</h2>'):
        assert heading in html
    assert '<th scope="col">Value</th><th scope="col">Description</th>' in html
    assert '<th scope="row">Consumer Key</th><td>The key of your app.' in html
    assert '<th scope="row">Consumer Secret</th><td>Shown next to the key. Secret' in html
    assert ('<th scope="row">Callback URL</th><td><code>'
            'https://console.example.com/connectors/1st-connect/callback</code>') in html
    assert "<p>A 1st Connect developer account.</p>" in html
    assert "<strong>Region</strong>: eu or us." in html
    assert "partner-level value left blank in the Authentication Settings is asked" in html


def test_guide_text_lists_paragraphs_and_escaping(admin_client, connectors):
    """Guide text becomes paragraphs and lists; markup in it is escaped, URLs linked."""
    html = admin_client.get(guide_url()).content.decode()
    assert "<p>Open the developer portal.</p>" in html
    assert "<ol><li>Register an app.</li><li>Copy the &lt;Consumer Key&gt;.</li></ol>" in html
    assert "<ul><li>Keep it safe</li><li>See <a href=\"https://docs.1stconnect.example\"" in html
    assert "<Consumer Key>" not in html


def test_guide_without_partner_fields(admin_client, connectors):
    """A connector with only account-level fields says so and lists them under Account setup."""
    html = admin_client.get(guide_url("helpdesk")).content.decode()
    assert "Helpdesk has no partner-level values" in html
    assert "<strong>API token</strong>" in html
    assert "Callback URL" in html


def test_guide_links_to_settings_and_settings_link_to_guide(admin_client, connectors):
    """The settings page's guide button and the guide's settings button point at each other."""
    settings_url = reverse("connectors:settings", args=["1st-connect"])
    assert settings_url in admin_client.get(guide_url()).content.decode()
    assert guide_url() in admin_client.get(settings_url).content.decode()


def test_guide_404s(admin_client, connectors):
    """Unknown and retired connectors have no guide."""
    assert admin_client.get(guide_url("nope")).status_code == 404
    make_connector("old", {**ZENDESK_LIKE, "name": "Old"})
    from connectors.models import Connector

    Connector.objects.filter(slug="old").update(retired_at=timezone.now())
    assert admin_client.get(guide_url("old")).status_code == 404


def test_viewer_reads_guides(viewer_client, connectors):
    """Viewers can read guides."""
    assert viewer_client.get(guide_url()).status_code == 200


@pytest.mark.parametrize(("text", "expected"), [
    ("One.\nStill one.\n\nTwo.", "<p>One. Still one.</p><p>Two.</p>"),
    ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
    ("1. a\n2. b\n10. c", "<ol><li>a</li><li>b</li><li>c</li></ol>"),
    ("Intro:\n- a\nAfter.", "<p>Intro:</p><ul><li>a</li></ul><p>After.</p>"),
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
    ('- "quoted" & <b>', "<ul><li>&quot;quoted&quot; &amp; &lt;b&gt;</li></ul>"),
    ("", ""),
    (None, ""),
])
def test_guide_text_filter(text, expected):
    """The filter splits paragraphs and lists and always escapes."""
    assert str(guide_text(text)) == expected


def test_guide_text_javascript_url_is_not_linked():
    """A javascript: URL stays text."""
    assert "href" not in str(guide_text("javascript:alert(1)"))
