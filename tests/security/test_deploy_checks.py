"""SECURITY.md "Production settings": `check --deploy` fails on development keys, FERNET_KEYS
equal to SECRET_KEY or short, DEBUG or SANDBOX_ENABLED on, and a non-https PUBLIC_URL."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from django.core.checks import run_checks

from core.checks import demo_env_keys
from tests.config.test_deploy_settings import PRODUCTION_ENV, ROOT, run_manage

PYPROJECT_ENV = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"][
    "ini_options"]["env"]


def pyproject_value(name: str) -> str:
    """The value pyproject.toml's test settings give `name`."""
    return next(pair.split("=", 1)[1] for pair in PYPROJECT_ENV if f"{name}=" in pair)


@pytest.fixture
def production(settings):
    """This process's settings with the production values of tests/test_deploy_settings.py."""
    settings.DEBUG = settings.SANDBOX_ENABLED = False
    settings.SECRET_KEY = PRODUCTION_ENV["SECRET_KEY"]
    settings.SECRET_KEY_FALLBACKS = []
    settings.FERNET_KEYS = [PRODUCTION_ENV["FERNET_KEYS"]]
    settings.PUBLIC_URL = PRODUCTION_ENV["PUBLIC_URL"]
    return settings


def our_errors() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=True)
            if message.id and message.id.startswith("hatchway.")}


def test_production_values_pass(production):
    """Control: the production values raise none of Hatchway's checks."""
    assert our_errors() == set()


@pytest.mark.parametrize("name, value, expected", [
    ("SECRET_KEY", "dev-only-insecure-secret-key-do-not-use-in-production", "hatchway.E001"),
    ("FERNET_KEYS", ["dev-only-insecure-fernet-key-do-not-use-in-production"], "hatchway.E001"),
    ("SECRET_KEY", pyproject_value("SECRET_KEY"), "hatchway.E001"),
    ("SECRET_KEY_FALLBACKS", [pyproject_value("SECRET_KEY")], "hatchway.E001"),
    ("FERNET_KEYS", [pyproject_value("FERNET_KEYS")], "hatchway.E001"),
    ("FERNET_KEYS", [PRODUCTION_ENV["SECRET_KEY"]], "hatchway.E002"),
    ("FERNET_KEYS", ["f" * 31], "hatchway.E003"),
    ("FERNET_KEYS", ["f" * 44, "short-old-key"], "hatchway.E003"),
    ("DEBUG", True, "hatchway.E004"),
    ("SANDBOX_ENABLED", True, "hatchway.E005"),
    ("PUBLIC_URL", "http://console.example.com", "hatchway.E006"),
    ("PUBLIC_URL", "console.example.com", "hatchway.E006"),
])
def test_each_bad_value_is_an_error(production, name, value, expected):
    """One bad production value: its check reports an error."""
    setattr(production, name, value)
    assert expected in our_errors()


def test_the_keys_of_a_demo_env_file_count_as_development_keys(tmp_path: Path):
    """scripts/demo's .env (DEBUG or the sandbox on): its random keys are development keys."""
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\nSANDBOX_ENABLED=true\nSECRET_KEY=fake-demo-secret,x\n"
                        "FERNET_KEYS=fake-demo-fernet-1,fake-demo-fernet-2\n")
    assert demo_env_keys(env_file) == {"fake-demo-secret,x", "fake-demo-fernet-1",
                                       "fake-demo-fernet-2"}
    env_file.write_text("DEBUG=false\nSECRET_KEY=fake-prod-secret\n")
    assert demo_env_keys(env_file) == set()


@pytest.mark.parametrize("extra, expected", [
    ({"SECRET_KEY": "dev-only-insecure-secret-key-do-not-use-in-production"}, "hatchway.E001"),
    ({"FERNET_KEYS": PRODUCTION_ENV["SECRET_KEY"]}, "hatchway.E002"),
    ({"SANDBOX_ENABLED": "true"}, "hatchway.E005"),
])
def test_check_deploy_fails_on_a_bad_production_value(extra, expected):
    """End to end: `manage.py check --deploy` exits non-zero naming the check."""
    result = run_manage("check", "--deploy", extra=extra)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
