"""Playwright fixtures: headless Chromium against pytest-django's `live_server`.

The tests skip, with the reason printed, when no Chromium is installed (CI installs
Debian's `chromium`). Never `playwright install`: the system Chromium is used.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from requests.adapters import HTTPAdapter

from connectors import http

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# while one is running unless told this is safe (it is: the loop only drives the browser).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

@pytest.fixture(autouse=True)
def no_kept_connections() -> Iterator[None]:
    """Close Hatchway's kept outbound connections after each test.

    Calls to the live server's sandbox (token exchanges, Test connection) go through the
    process's shared adapter, which keeps the connection alive. The live server serves a
    kept-alive connection in one thread until the socket closes, and that thread holds its
    own database connection meanwhile: left open, it kept the test database from being
    dropped at the end of a PostgreSQL run ("being accessed by other users")."""
    yield
    HTTPAdapter.close(http.default_transport())  # the shared adapter's own close() keeps them


CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000


def find_chromium() -> str | None:
    """The Chromium executable to drive: $CHROMIUM_PATH, /usr/bin/chromium or one on PATH."""
    for candidate in (os.environ.get("CHROMIUM_PATH", ""), *CHROMIUM_CANDIDATES):
        if not candidate:
            continue
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = find_chromium()
    if executable is None:
        reason = ("no Chromium found (looked for $CHROMIUM_PATH, /usr/bin/chromium, chromium, "
                  "chromium-browser): install Debian's `chromium` to run browser tests")
        if os.environ.get("HATCHWAY_REQUIRE_BROWSER"):
            # CI sets this: there a missing browser is a failure, never a silent skip.
            pytest.fail(f"HATCHWAY_REQUIRE_BROWSER is set but {reason}")
        print(f"SKIPPED browser tests: {reason}", file=sys.stderr)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def partner_site() -> Iterator[tuple[str, dict[str, str]]]:
    """The partner's own app on another site than the live server's http://localhost:<port>:
    a real loopback server on 127.0.0.1 (Chromium's local-network checks refuse a page it
    cannot place), answering every GET with `content["html"]`."""
    content = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = content["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", content
    server.shutdown()
    server.server_close()


AXE_PATHS = (os.environ.get("AXE_CORE_PATH", ""),
             str(Path(__file__).resolve().parents[2] / ".ci/node/node_modules/axe-core/axe.min.js"))


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (npm: `npm install --prefix .ci/node axe-core@<version in .ci/run>`)."""
    for candidate in AXE_PATHS:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    reason = ("axe-core not found (looked for $AXE_CORE_PATH and .ci/node/node_modules): "
              "run `npm install --prefix .ci/node axe-core@4.14.1`")
    if os.environ.get("HATCHWAY_REQUIRE_BROWSER"):
        pytest.fail(reason)
    print(f"SKIPPED accessibility checks: {reason}", file=sys.stderr)
    pytest.skip(reason)
