"""The benchmarks are scripts of their own: they share bench/common.py, nothing else."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
MODULES = sorted(BENCH.glob("*.py"))
SCRIPTS = [path for path in MODULES if path.read_text().startswith("#!")]
ROOT = BENCH.parent
# bench/api.py shares its name with the project's api app: an `import api` is the app's.
APPS = {path.parent.name for path in ROOT.glob("*/__init__.py")}
SIBLINGS = {path.stem for path in MODULES} - {"common"} - APPS


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_scripts_are_found():
    assert {path.stem for path in SCRIPTS} >= {"api", "pages", "refresh", "web"}
    assert {"pages", "refresh", "web"} <= SIBLINGS
    assert (BENCH / "common.py") in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_bench_module_imports_tests_or_a_sibling(path):
    """Only bench/common.py is shared; tests/ is never a benchmark's helper."""
    names = imported(path)
    roots = {name.split(".")[0] for name in names}
    assert "tests" not in roots, f"{path.name} imports tests/"
    assert not roots & (SIBLINGS - {path.stem}), f"{path.name} imports another bench script"
    assert not {n for n in names if n.startswith("bench.")}, f"{path.name} imports bench.*"


def test_the_check_sees_a_sibling_import(tmp_path):
    """The check above fails on what it is there to refuse (the AST walk finds nested ones)."""
    script = tmp_path / "x.py"
    script.write_text("def f():\n    from refresh import settle\n    import tests.factories\n")
    assert {"refresh", "tests.factories"} <= imported(script)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_each_script_starts(path):
    """A cheap smoke: the script imports (bench/common.py included) and parses its options."""
    done = subprocess.run([sys.executable, str(path), "--help"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
