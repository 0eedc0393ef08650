"""SECURITY.md "Requests and responses": `X-Forwarded-*` is trusted only when configured to
run behind a proxy (BEHIND_PROXY=true), and gunicorn listens on loopback by default."""

from __future__ import annotations

import json
import runpy

from tests.config.test_deploy_settings import run_manage
from tests.config.test_gunicorn_config import CONF

READ = ("import json; from django.conf import settings as s; "
        "print(json.dumps(s.SECURE_PROXY_SSL_HEADER))")


def proxy_header(**extra: str):
    result = run_manage("shell", "-c", READ, extra=extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_x_forwarded_proto_is_ignored_unless_behind_a_proxy():
    """Production without BEHIND_PROXY: a client's X-Forwarded-Proto proves nothing."""
    assert proxy_header() is None
    assert proxy_header(BEHIND_PROXY="false") is None


def test_x_forwarded_proto_is_honoured_behind_a_proxy():
    """BEHIND_PROXY=true: the proxy's X-Forwarded-Proto: https marks the request secure."""
    assert proxy_header(BEHIND_PROXY="true") == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_without_the_setting_a_forged_header_does_not_make_a_request_secure(rf, settings):
    """In process: with the header not configured, X-Forwarded-Proto: https is not https."""
    settings.SECURE_PROXY_SSL_HEADER = None
    assert rf.get("/", HTTP_X_FORWARDED_PROTO="https").is_secure() is False


def test_gunicorn_binds_to_loopback_unless_told_otherwise(monkeypatch):
    """No GUNICORN_BIND: 127.0.0.1:8000; GUNICORN_BIND wins when set."""
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    assert runpy.run_path(str(CONF))["bind"] == "127.0.0.1:8000"
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:9000")
    assert runpy.run_path(str(CONF))["bind"] == "0.0.0.0:9000"


def test_gunicorn_trusts_forwarded_headers_from_loopback_only(monkeypatch):
    """By default gunicorn believes X-Forwarded-* only from a proxy on 127.0.0.1."""
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert runpy.run_path(str(CONF))["forwarded_allow_ips"] == "127.0.0.1"
