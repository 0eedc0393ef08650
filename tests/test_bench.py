"""The benchmarks are scripts of their own: they share bench/common.py, nothing else."""

from __future__ import annotations

import ast
import http.client
import os
import socket
import subprocess
import sys
import time
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
    assert {path.stem for path in SCRIPTS} >= {"api", "deliveries", "pages", "refresh", "scale",
                                               "web"}
    assert {"pages", "refresh", "scale", "web"} <= SIBLINGS
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


@pytest.mark.skipif("postgres" not in os.environ.get("DATABASE_URL", ""),
                    reason="bench/scale.py seeds in PostgreSQL's SQL")
def test_scale_runs_at_a_toy_size():
    """bench/scale.py end to end at 200 and 400 installs: it seeds, measures every path
    (none answers an error) and prints its table."""
    done = subprocess.run([sys.executable, str(BENCH / "scale.py"), "--sizes", "200,400",
                           "--repeat", "1"], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout.split("\npath", 1)[1]
    assert "console accounts, deep page" in table and "relay (events/s)" in table
    assert "!" not in table.replace("(ms unless named; q: queries per run; ×: p50 against "
                                    "the first size; !: a run answered an error)", "")


@pytest.mark.skipif("postgres" not in os.environ.get("DATABASE_URL", ""),
                    reason="the delivery claim takes PostgreSQL's row and advisory locks")
def test_deliveries_runs_at_a_toy_size():
    """bench/deliveries.py end to end: every seeded delivery delivered exactly once."""
    done = subprocess.run([sys.executable, str(BENCH / "deliveries.py"), "--deliveries", "40",
                           "--endpoints", "3", "--workers", "2"], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    assert "Delivered:        40/40" in done.stdout
    assert "Receiver got:     40 POSTs (+0 against the delivered rows" in done.stdout


def test_the_static_provider_answers_as_recorded_on_a_kept_connection(tmp_path):
    """bench/static_provider.py: the recorded answer to each request of one connection,
    each logged as gunicorn logs it (the request line and the status)."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n" \
             b'{"a":1}'
    (tmp_path / "answer").write_bytes(answer)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(BENCH / "static_provider.py"), str(port),
                               str(tmp_path / "answer"), str(tmp_path / "log")])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.connect()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the static provider did not start"
                time.sleep(0.1)
        for path in ("/sandbox/api/me", "/other?x=1"):
            connection.request("GET", path, headers={"Authorization": "Bearer fake-token"})
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b'{"a":1}')
            assert response.getheader("Content-Type") == "application/json"
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    lines = (tmp_path / "log").read_text().splitlines()
    assert [line.split('"')[1:] for line in lines] == [
        ["GET /sandbox/api/me HTTP/1.1", " 200 -"], ["GET /other?x=1 HTTP/1.1", " 200 -"]]


@pytest.mark.skipif("postgres" not in os.environ.get("DATABASE_URL", ""),
                    reason="bench/api.py loads Hatchway on PostgreSQL")
@pytest.mark.parametrize("provider", ["sandbox", "static"])
def test_api_runs_briefly(provider):
    """bench/api.py end to end for a few seconds, with the sandbox and with the static
    provider in its stead: every request answers, every credentials read is audited, and
    the hot paths' targets are printed (met or not: a few seconds decide nothing)."""
    done = subprocess.run([sys.executable, str(BENCH / "api.py"), "--duration", "1.5",
                           "--provider", provider, "--python-client"], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    results = done.stdout.split("\nrequest ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert len(results) == 4 and all(line.split()[-1] == "0" for line in results), results
    assert "(every one)" in done.stdout
    assert "Refreshes during the run: 0" in done.stdout
    for name in ("credentials", "proxied GET /me"):
        assert f"Hatchway CPU {name} / key-only view: " in done.stdout
