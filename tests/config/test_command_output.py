"""Management commands print what they did, not the start-up lines of the libraries."""

from __future__ import annotations

from tests.config.test_deploy_settings import run_manage


def test_commands_do_not_print_the_axes_start_up_line():
    """django-axes logs "AXES: BEGIN version …" when the app loads unless told not to: no
    command (check here, the worker and every other alike) shows it."""
    result = run_manage("check")
    assert result.returncode == 0, result.stderr
    assert "AXES" not in result.stdout + result.stderr
    assert "no issues" in result.stdout
