"""SECURITY.md "Production settings": the values check --deploy does not look at (SameSite,
CSP directives, password validators, separate keys), read from a production-like process,
and the headers and cookies the running app actually sends."""

from __future__ import annotations

import json

from django.test import Client

from tests.config.test_deploy_settings import run_manage
from tests.factories import PASSWORD

READ_SETTINGS = """
import json, os
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG, "ALLOW_LOCAL_PROVIDERS": s.ALLOW_LOCAL_PROVIDERS,
    "sandbox": "sandbox" in s.INSTALLED_APPS,
    "insecure_transport": "OAUTHLIB_INSECURE_TRANSPORT" in os.environ,
    "SECRET_KEY_FALLBACKS": s.SECRET_KEY_FALLBACKS,
    "keys_separate": s.SECRET_KEY not in s.FERNET_KEYS,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS, "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT, "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE, "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": s.SESSION_COOKIE_HTTPONLY,
    "SESSION_COOKIE_SAMESITE": s.SESSION_COOKIE_SAMESITE,
    "SECURE_REFERRER_POLICY": s.SECURE_REFERRER_POLICY, "X_FRAME_OPTIONS": s.X_FRAME_OPTIONS,
    "validators": [v["NAME"].rsplit(".", 1)[1] for v in s.AUTH_PASSWORD_VALIDATORS],
    "csp": s.CONTENT_SECURITY_POLICY["DIRECTIVES"],
}))
"""


def test_production_settings_hold_every_listed_value():
    """DEBUG off, HSTS 1 year + subdomains, secure HttpOnly Lax cookies, DENY, CSP, validators."""
    result = run_manage("shell", "-c", READ_SETTINGS,
                        extra={"OAUTHLIB_INSECURE_TRANSPORT": "1"})
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["DEBUG"] is False and found["ALLOW_LOCAL_PROVIDERS"] is False
    assert found["sandbox"] is False and found["insecure_transport"] is False
    assert found["SECRET_KEY_FALLBACKS"] == [] and found["keys_separate"] is True
    assert found["ALLOWED_HOSTS"] == ["console.example.com"]
    assert found["CSRF_TRUSTED_ORIGINS"] == ["https://console.example.com"]
    assert found["SECURE_SSL_REDIRECT"] is True
    assert found["SECURE_HSTS_SECONDS"] == 31536000
    assert found["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert found["SESSION_COOKIE_SECURE"] is True and found["CSRF_COOKIE_SECURE"] is True
    assert found["SESSION_COOKIE_HTTPONLY"] is True
    assert found["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert found["SECURE_REFERRER_POLICY"] and found["X_FRAME_OPTIONS"] == "DENY"
    assert found["validators"] == ["UserAttributeSimilarityValidator",
                                   "MinimumLengthValidator", "CommonPasswordValidator",
                                   "NumericPasswordValidator"]
    csp = found["csp"]
    assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert not any("localhost" in source or "127.0.0.1" in source
                   for sources in csp.values() for source in sources)


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_console_and_customer_pages_send_the_csp_and_security_headers(admin_client, partner):
    """A console page and a customer page carry the listed CSP directives and headers."""
    from accounts.models import Account
    from links.services import create_link

    _link, token = create_link(account=Account.objects.create(
        partner=partner, name="Initech", external_id="cust-1"), connectors=[])
    for response in (admin_client.get("/connectors/"), Client().get(f"/install/{token}/"),
                     Client().get("/login/")):
        assert response.status_code == 200
        csp = csp_directives(response["Content-Security-Policy"])
        assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_lax(alice):
    """Logging in sets a HttpOnly, SameSite=Lax session cookie (the provider's redirect back
    is a cross-site top-level GET, so Strict would lose the session)."""
    response = Client().post("/login/", {"username": alice.email, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax"
