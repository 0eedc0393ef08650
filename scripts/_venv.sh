# Sourced by scripts/demo and scripts/test: make .venv and install Hatchway into it.
# HATCHWAY_SKIP_INSTALL=1 uses .venv as it is (tests that run these scripts set it, so they
# never install into the virtualenv running them).
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ -z "${HATCHWAY_SKIP_INSTALL:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  stamp=.venv/.hatchway-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    touch "$stamp"
  fi
fi
