"""Install-link logic: hashed tokens, lookup, revocation, state, return-URL and origin checks."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.core import serializers
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Partner
from audit.models import AuditEvent
from core import origins
from core.tokens import hash_token
from installs.models import Install
from links import services as links
from links.models import InstallLink
from tests.factories import account, connector, expire, make_link

BAD_RETURN_URLS = [
    "//evil.com",
    "///evil.com",
    "https:evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/\\evil.com",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,hi",
    "https://evil.com/back",
    "https://app.acme.test.evil.com/back",
    "https://evil.com@app.acme.test/back",
    "https://app.acme.test@evil.com/back",
    "https://app.acme.test:8443/back",
    "http://app.acme.test/back",
    "https://app.acme.test\t/back",
    "https://app.acme.test/\nback",
    " https://app.acme.test/back",
    "/relative/path",
    "app.acme.test/back",
]


@pytest.fixture
def setup(partner):
    partner.allowed_return_origins = ["https://app.acme.test"]
    partner.save()
    crm = connector("crm-one", "CRM One", partner)
    return account(partner), crm


def test_create_stores_only_a_hash(setup, alice):
    """The token appears in no table (links, audit, sessions): only its SHA-256 is stored."""
    acct, crm = setup
    link, token = make_link(acct, [crm], actor=alice)
    assert len(token) >= 43
    assert link.token_hash == hash_token(token) != token
    dump = "".join(serializers.serialize("json", model.objects.all())
                   for model in (InstallLink, AuditEvent, Session))
    assert token not in dump
    assert links.link_url(token) == f"http://testserver/install/{token}/"


def test_create_audits_without_the_token(setup, alice):
    """link.created names the account and the user, never the token."""
    acct, crm = setup
    link, token = make_link(acct, [crm], actor=alice)
    event = AuditEvent.objects.get(action="link.created")
    assert (event.account, event.actor) == (acct, alice)
    assert event.detail["connectors"] == ["crm-one"]
    assert token not in str(event.detail)


def test_each_link_gets_a_different_token(setup):
    """Tokens are random: two links never share one."""
    acct, crm = setup
    tokens = {make_link(acct, [crm])[1] for _ in range(5)}
    assert len(tokens) == 5


def test_find_link_by_token(setup):
    """The token finds its link; a changed character, a malformed or empty token find nothing."""
    acct, crm = setup
    link, token = make_link(acct, [crm])
    assert links.find_link(token) == link
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, token + "x", "", "short", "../../etc/passwd", token[:20] + "/" + token,
                "ä" * 43, None):
        assert links.find_link(bad) is None


def test_expiry_is_bounded(setup):
    """A link lives at least a moment and at most 7 days."""
    acct, crm = setup
    with pytest.raises(ValidationError):
        make_link(acct, [crm], expires_in=timedelta(days=7, seconds=1))
    with pytest.raises(ValidationError):
        make_link(acct, [crm], expires_in=timedelta(0))
    link, _ = make_link(acct, [crm], expires_in=timedelta(days=7))
    assert link.expires_at <= timezone.now() + timedelta(days=7)
    assert InstallLink.objects.count() == 1


def test_default_expiry_is_one_hour(setup):
    """Without an expiry the link lasts 60 minutes."""
    acct, crm = setup
    link, _ = make_link(acct, [crm])
    remaining = link.expires_at - timezone.now()
    assert timedelta(minutes=59) < remaining <= timedelta(minutes=60)


def test_create_refuses_another_accounts_install(setup, partner):
    """A reconnect link may only target an install of its own account."""
    acct, crm = setup
    other = account(partner, "Other Co", "cust-2")
    foreign = Install.objects.create(account=other, connector=crm)
    with pytest.raises(ValidationError):
        make_link(acct, [crm], install=foreign)
    assert not InstallLink.objects.exists()


def test_reconnect_link_offers_its_install_only(setup, partner):
    """A link targeting an install offers that install's connector and reaches only it."""
    acct, crm = setup
    other_connector = connector("crm-two", "CRM Two", partner)
    target = Install.objects.create(account=acct, connector=crm)
    Install.objects.create(account=acct, connector=other_connector)
    link, _ = make_link(acct, [other_connector], install=target)
    assert links.offered_connectors(link) == [crm]
    assert list(links.link_installs(link)) == [target]


def test_revoke(setup, alice):
    """Revoking sets revoked_at once and audits it; a second revoke changes nothing."""
    acct, crm = setup
    link, token = make_link(acct, [crm])
    assert links.revoke_link(link=link, actor=alice) is True
    assert link.state == "revoked"
    first = InstallLink.objects.get(pk=link.pk).revoked_at
    assert links.revoke_link(link=link, actor=alice) is False
    assert InstallLink.objects.get(pk=link.pk).revoked_at == first
    assert AuditEvent.objects.filter(action="link.revoked", actor=alice).count() == 1
    assert links.find_link(token).is_active is False


def test_state_labels(setup):
    """Active / Expired / Revoked, plus how many installs used the link."""
    acct, crm = setup
    link, _ = make_link(acct, [crm])
    assert links.state_label(link) == "Active"
    InstallLink.objects.filter(pk=link.pk).update(use_count=2)
    link.refresh_from_db()
    assert links.state_label(link) == "Active · used by 2 installs"
    expire(link)
    link.refresh_from_db()
    assert links.state_label(link).startswith("Expired")
    link.revoked_at = timezone.now()
    assert links.state_label(link).startswith("Revoked")


@pytest.mark.parametrize("url", BAD_RETURN_URLS)
def test_open_redirect_forms_are_refused(setup, url):
    """Every open-redirect form, and anything off the allowlist, is refused at creation."""
    acct, crm = setup
    assert links.is_allowed_return_url(url, acct.partner) is False
    with pytest.raises(ValidationError):
        make_link(acct, [crm], return_url=url)
    assert not InstallLink.objects.exists()


@pytest.mark.parametrize("url", ["https://app.acme.test/back", "https://APP.acme.test/back?x=1",
                                 "https://app.acme.test:443/done", "https://app.acme.test"])
def test_allowlisted_return_urls_pass(setup, url):
    """URLs on an allowlisted origin (same scheme, host and port) are accepted."""
    acct, crm = setup
    link, _ = make_link(acct, [crm], return_url=url)
    assert link.return_url == url


def test_return_url_with_outcome_appends_status_and_connector():
    """The outcome goes into the query, existing parameters kept, fragment dropped."""
    url = origins.return_url_with_outcome("https://app.acme.test/back?tab=apps#top",
                                        outcome="connected", connector_slug="crm-one")
    assert url == "https://app.acme.test/back?tab=apps&status=connected&connector=crm-one"


@pytest.mark.parametrize("text,origin", [
    ("https://App.Example.com", "https://app.example.com"),
    ("https://app.example.com/", "https://app.example.com"),
    ("https://app.example.com:443", "https://app.example.com"),
    ("https://app.example.com:8443", "https://app.example.com:8443"),
    ("http://localhost:8000", "http://localhost:8000"),
    ("https://[::1]:9000", "https://[::1]:9000"),
])
def test_origins_are_normalised(text, origin):
    """Origins are compared in canonical form: lower case, default port dropped."""
    assert origins.normalise_origin(text) == origin


@pytest.mark.parametrize("text", [
    "app.example.com", "https://app.example.com/path", "https://app.example.com?x=1",
    "https://user@app.example.com", "ftp://app.example.com", "javascript:alert(1)",
    "https://app example.com", "https://app.example.com:99999", "https://exa_mple.com",
    "https://app.example.com; script-src *", "'self'", "*", "https://*.example.com",
    "http://app.example.com",
])
def test_bad_origins_are_refused(text):
    """Anything that is not exactly scheme://host[:port] is refused; http only for loopback."""
    with pytest.raises(ValidationError):
        origins.normalise_origin(text)


@override_settings(ALLOW_LOCAL_PROVIDERS=False)
def test_plain_http_needs_local_providers():
    """Without local providers even http://localhost is refused."""
    with pytest.raises(ValidationError):
        origins.normalise_origin("http://localhost:8000")


def test_parse_origins_names_every_bad_line():
    """A multi-line allowlist reports each bad line and de-duplicates good ones."""
    assert origins.parse_origins("https://a.example\n\nhttps://A.example/\r\n") == ["https://a.example"]
    with pytest.raises(ValidationError) as caught:
        origins.parse_origins("https://ok.example\nnot an origin\nhttps://x.example/path")
    assert len(caught.value.messages) == 2


@settings(max_examples=300, deadline=None)
@given(url=st.one_of(
    st.text(max_size=80),
    st.builds(lambda prefix, rest: prefix + rest,
              st.sampled_from(["https://app.acme.test", "https:", "//", "\\\\", "https://",
                               "javascript:", "https://app.acme.test@", "http://app.acme.test"]),
              st.text(max_size=40)),
))
def test_property_only_the_allowlisted_origin_passes(url):
    """Whatever the text, an accepted return URL is an https URL on app.acme.test exactly."""
    partner = Partner(allowed_return_origins=["https://app.acme.test"])
    if links.is_allowed_return_url(url, partner):
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.hostname == "app.acme.test"
        assert parts.port in (None, 443) and "\\" not in url and "@" not in parts.netloc


@pytest.mark.parametrize("url", ["https://[", "https://[::1", "https://app.acme.test:99999/"])
def test_malformed_hosts_are_refused_not_raised(url, partner):
    """URLs urlsplit cannot parse are refused like any other bad URL (never a 500)."""
    partner.allowed_return_origins = ["https://app.acme.test"]
    assert links.is_allowed_return_url(url, partner) is False
    with pytest.raises(ValidationError):
        origins.normalise_origin(url)


def test_port_zero_is_not_an_origin(partner):
    """`:0` is refused: it must not collapse into the default port and pass the allowlist."""
    partner.allowed_return_origins = ["https://app.acme.test"]
    assert links.is_allowed_return_url("https://app.acme.test:0/back", partner) is False
    with pytest.raises(ValidationError):
        origins.normalise_origin("https://app.acme.test:0")
