"""`manage.py check --deploy` checks for a production configuration Django cannot judge:
published development keys, weak or shared encryption keys, development switches left on
and an http callback base. Registered in CoreConfig.ready(), tagged deploy.

The known development keys are settings.DEVELOPMENT_KEYS (the fallbacks in the settings
module), the keys the test run sets in pyproject.toml, and the keys of a `.env` that turns
DEBUG or the sandbox on -- the one scripts/demo writes, random but not for production.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

KEY_SETTINGS = ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "FERNET_KEYS")
MIN_FERNET_KEY_LENGTH = 32


def _env_values(pairs: Iterable[str]) -> dict[str, list[str]]:
    """KEY=VALUE lines (pytest-env may prefix `D:` or `R:`) -> the key settings' values."""
    found: dict[str, list[str]] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        name = name.strip().rsplit(":", 1)[-1]
        if name in KEY_SETTINGS or name in ("DEBUG", "SANDBOX_ENABLED"):
            parts = [value] if name == "SECRET_KEY" else value.split(",")
            found[name] = [part.strip().strip("'\"") for part in parts if part.strip()]
    return found


def pyproject_test_keys(pyproject: Path) -> set[str]:
    """The keys pyproject.toml's test settings write."""
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    pairs = data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("env", [])
    values = _env_values(pairs)
    return {key for name in KEY_SETTINGS for key in values.get(name, [])}


def demo_env_keys(env_file: Path) -> set[str]:
    """The keys of a .env file that turns DEBUG or the sandbox on (scripts/demo's)."""
    try:
        lines = env_file.read_text().splitlines()
    except OSError:
        return set()
    values = _env_values(line for line in lines if not line.lstrip().startswith("#"))
    switches = values.get("DEBUG", []) + values.get("SANDBOX_ENABLED", [])
    if not any(value.lower() in ("1", "true", "yes", "on") for value in switches):
        return set()
    return {key for name in KEY_SETTINGS for key in values.get(name, [])}


def development_keys() -> set[str]:
    base = Path(settings.BASE_DIR)
    return (set(settings.DEVELOPMENT_KEYS) | pyproject_test_keys(base / "pyproject.toml")
            | demo_env_keys(base / ".env"))


def _keys_in_use() -> dict[str, list[str]]:
    return {"SECRET_KEY": [settings.SECRET_KEY],
            "SECRET_KEY_FALLBACKS": list(settings.SECRET_KEY_FALLBACKS),
            "FERNET_KEYS": list(settings.FERNET_KEYS)}


def check_development_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    known = development_keys()
    return [Error(f"{name} holds a development key, published in the repository or written "
                  "by the demo or the test settings.",
                  hint=f"Generate a new {name} (see the README's Production deployment).",
                  id="hatchway.E001")
            for name, keys in _keys_in_use().items() if known.intersection(keys)]


def check_fernet_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    signing = {settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS}
    if signing.intersection(settings.FERNET_KEYS):
        errors.append(Error("FERNET_KEYS contains SECRET_KEY: the key that signs sessions "
                            "would also decrypt every stored credential.",
                            hint="Give FERNET_KEYS its own key.", id="hatchway.E002"))
    if any(len(key) < MIN_FERNET_KEY_LENGTH for key in settings.FERNET_KEYS):
        errors.append(Error(f"A key in FERNET_KEYS is shorter than {MIN_FERNET_KEY_LENGTH} "
                            "characters.",
                            hint="Generate one with Fernet.generate_key() (see the README).",
                            id="hatchway.E003"))
    return errors


def check_development_switches(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [Error(f"{name} is on.", hint=f"Set {name}=false in production.", id=error_id)
            for name, error_id in (("DEBUG", "hatchway.E004"),
                                   ("SANDBOX_ENABLED", "hatchway.E005"))
            if getattr(settings, name)]


def check_public_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.PUBLIC_URL.lower().startswith("https://"):
        return []
    return [Error("PUBLIC_URL is not https: callback URLs would carry authorization codes "
                  "in the clear.", hint="Set PUBLIC_URL=https://<console host>.",
                  id="hatchway.E006")]


DEPLOY_CHECKS = (check_development_keys, check_fernet_keys, check_development_switches,
                 check_public_url)
