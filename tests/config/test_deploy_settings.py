"""Production settings: `check --deploy` is clean and the insecure-transport switch is off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SANDBOX_ENABLED": "false",
    "SECRET_KEY": "prod-like-test-key-" + "k3y" * 20,
    "FERNET_KEYS": "prod-like-fernet-test-key-" + "f3rn3t" * 4,
    "ALLOWED_HOSTS": "console.example.com",
    "PUBLIC_URL": "https://console.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://console.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


def run_manage(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), **PRODUCTION_ENV, **(extra or {})}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean():
    """With production environment values, check --deploy reports no issues."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_keys():
    """Without SECRET_KEY or FERNET_KEYS and without DEBUG, settings refuse to load."""
    for missing in ("SECRET_KEY", "FERNET_KEYS"):
        result = run_manage("check", extra={missing: ""})
        assert result.returncode != 0
        assert missing in result.stderr


def test_insecure_transport_switch_is_removed_in_production():
    """OAUTHLIB_INSECURE_TRANSPORT set by the environment is removed when not DEBUG/sandbox."""
    code = "import os; print('OAUTHLIB_INSECURE_TRANSPORT' in os.environ)"
    result = run_manage("shell", "-c", code, extra={"OAUTHLIB_INSECURE_TRANSPORT": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
