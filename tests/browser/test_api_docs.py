"""The API docs page in headless Chromium: Swagger UI renders every operation from this
server's files, and the CSP ('self') refuses nothing on the way."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_render_under_the_csp(page, live_server):
    """/api/docs/ lists the operations; no CSP violation, no request to another origin."""
    refusals: list[str] = []
    origins: set[str] = set()
    page.on("console", lambda message: refusals.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("request", lambda request: origins.add(request.url.split("/")[2]))
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 20
    assert page.get_by_text("/api/v1/installs/{install_id}/credentials").first.is_visible()
    assert refusals == []
    assert origins == {live_server.url.split("/")[2]}
