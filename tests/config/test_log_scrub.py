"""The log filter redacts credential-looking values before any handler writes them."""

from __future__ import annotations

import logging

from config.log_scrub import ScrubSecretsFilter, scrub


def test_query_and_form_values_are_redacted():
    """access_token=…, code=…, client_secret=… in URLs and bodies are replaced."""
    text = scrub("GET /cb?code=fake-code-123&state=s1 body client_secret=fake-cs&x=1")
    assert "fake-code-123" not in text and "fake-cs" not in text
    assert "state=s1" in text and "x=1" in text


def test_json_and_headers_are_redacted():
    """JSON token responses and Authorization headers lose their values."""
    text = scrub('{"access_token": "fake-at-456", "expires_in": 3600} '
                 "Authorization: Bearer fake-bearer-token-789")
    assert "fake-at-456" not in text and "fake-bearer-token-789" not in text
    assert '"expires_in": 3600' in text


def test_filter_rewrites_formatted_records():
    """Arguments are merged and scrubbed, so %-formatting cannot smuggle a secret out."""
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "sent %s", ("token=fake-t0k",),
                               None)
    assert ScrubSecretsFilter().filter(record)
    assert "fake-t0k" not in record.getMessage()


def test_invitation_and_password_reset_tokens_in_paths_are_redacted():
    """Access-log lines of an invitation link or a reset link keep no token."""
    invitation = "GET /invitations/Zx3_kQ9vA-bC7dE1fG2hI3jK4lM5nO6pQ7rS8tU9vW0/ 200"
    reset = "GET /reset/MTI/cz5k1c-0d6e3b5f1a2c4e6f8a0b1c2d3e4f5a6b/ 302"
    assert "Zx3_kQ9vA" not in scrub(invitation) and "/invitations/[redacted]" in scrub(invitation)
    assert "0d6e3b5f1a2c" not in scrub(reset) and "/reset/MTI/[redacted]" in scrub(reset)


def test_sso_recovery_link_tokens_and_callback_codes_are_redacted():
    """The one-time recovery link (manage.py sso_recovery_link) and the SSO callback's
    authorization code keep no secret in an access-log line."""
    token = ("35a51ae460b843e11ed3c0ffee5f2b9c0e7d6a1b2c3d4e5f60718293a4b5c6d7:1tXyZa:"
             "AbC-dEf_ghIJklmNOPqrstuVWxyz0123456789abcd")  # TimestampSigner's shape
    recovery = f"POST /login/recovery/MQ/{token}/ 302"
    callback = "GET /login/sso/callback?code=fake-code-123&state=abc 302"
    assert "35a51ae460b8" not in scrub(recovery) and "AbC-dEf" not in scrub(recovery)
    assert "/login/recovery/MQ/[redacted]" in scrub(recovery)
    assert "fake-code-123" not in scrub(callback)
