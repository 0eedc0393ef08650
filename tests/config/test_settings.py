"""Settings the tests override for speed keep their production values in config."""

from __future__ import annotations

from django.conf import global_settings

import config.settings


def test_production_hashes_passwords_with_django_s_default_pbkdf2():
    """tests/conftest.py hashes with MD5 for speed; config leaves Django's default list,
    whose first (used) hasher is PBKDF2, untouched."""
    assert "PASSWORD_HASHERS" not in vars(config.settings)
    assert global_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.PBKDF2PasswordHasher")
