"""The README's API walk-through, run as written against a live demo server.

The server is the README's own first command minus the virtualenv step: migrate,
sync_connectors and seed_demo on a scratch SQLite database, then runserver. The curl
commands run in bash exactly as the README prints them (only the port differs); the
customer's part in the middle ("the customer opens it and connects") is done in Chromium.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER_STEP = "#    ... the customer opens it and connects ..."
README_HOST = "http://localhost:8000"


def walkthrough() -> str:
    """The shell block of the README's "API quick start" section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## API quick start", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the API quick start has no ```sh block"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_environment(tmp_path: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DEBUG": "true", "SANDBOX_ENABLED": "true", "LOG_LEVEL": "WARNING",
        "PUBLIC_URL": f"http://localhost:{port}", "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "SECRET_KEY": "readme-walkthrough-key-not-secret-0123456789-abcdefghijklmnop",
        "FERNET_KEYS": "readme-walkthrough-fernet-key-not-secret",
    })
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def wait_until_live(url: str, server: subprocess.Popen[str]) -> None:
    for _ in range(300):
        assert server.poll() is None, "the demo server exited"
        try:
            with urllib.request.urlopen(url + "/healthz/live", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail("the demo server did not come up")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A demo console as `./scripts/demo` leaves it, on a free port."""
    port = free_port()
    env = demo_environment(tmp_path, port)
    for command in (("migrate", "--noinput"), ("sync_connectors",), ("seed_demo",)):
        manage(env, *command)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    url = f"http://localhost:{port}"
    try:
        wait_until_live(url, server)
        yield url, env
    finally:
        server.terminate()
        server.wait(timeout=20)


def json_documents(text: str) -> tuple[list[object], str]:
    """The JSON documents curl printed one after another, and the text after them."""
    decoder, documents, rest = json.JSONDecoder(), [], text.strip()
    while rest.startswith(("{", "[")):
        document, end = decoder.raw_decode(rest)
        documents.append(document)
        rest = rest[end:].strip()
    return documents, rest


def run_bash(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{script}\n--- stderr:\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.browser
def test_readme_api_walkthrough_runs_as_written(demo_server, page, tmp_path):
    """Every curl of the README's quick start answers as its comments say."""
    from playwright.sync_api import expect

    url, env = demo_server
    env = {**env, "PATH": f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"}
    script = walkthrough().replace(README_HOST, url)
    before, after = script.split(CUSTOMER_STEP)
    state = tmp_path / "walkthrough.env"

    (account,), link_url = json_documents(run_bash(
        before + f"\ndeclare -p KEY API H > {state}\n", env))
    assert account["external_id"] == "cust-42" and account["name"] == "Initech"
    assert link_url.startswith(f"{url}/install/")

    page.goto(link_url)
    page.locator("form[action*='/connect/sandbox-oauth2/'] button").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Connected"))

    (credentials, me), rest = json_documents(run_bash(f"source {state}\n" + after, env))
    assert rest == ""
    assert credentials["type"] == "oauth2"
    assert credentials["credentials"]["access_token"]
    assert credentials["base_url"] == f"{url}/sandbox/api"
    assert me["auth"] == "oauth2" and me["username"] == "demo-user"
