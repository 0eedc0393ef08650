"""The 127.0.0.1 trap (issue 19 item 17): console pages answer on PUBLIC_URL's host, and a
sign-in that comes back without its session says what happened and links back."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PUBLIC = "http://localhost:8000"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_URL = PUBLIC
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]


@pytest.mark.parametrize("path", ["/login/", "/accounts/?page=2", "/connectors/", "/"])
def test_a_console_page_on_another_host_is_redirected_to_public_urls(path):
    """127.0.0.1:8000 when PUBLIC_URL says localhost:8000: redirected, path and query kept,
    before any page (the log-in that sets the session cookie included) is served."""
    response = Client().get(path, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 302
    assert response["Location"] == PUBLIC + path
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_the_public_host_is_served():
    """On PUBLIC_URL's own host nothing is redirected."""
    assert Client().get("/login/", HTTP_HOST="localhost:8000").status_code == 200


@pytest.mark.parametrize("path", ["/healthz/live", "/api/v1/schema/", "/metrics"])
def test_api_health_and_metrics_answer_on_any_allowed_host(path):
    """Load balancers and backends call by address: never redirected."""
    response = Client().get(path, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code != 302


def test_a_post_is_not_redirected():
    """Only GET and HEAD are moved; a POST is answered (here: refused) where it was sent."""
    response = Client().post("/login/", {}, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code != 302 or "127.0.0.1" in response.get("Location", "")


def test_it_can_be_turned_off(settings):
    """PUBLIC_HOST_REDIRECT=false: for a proxy that cannot pass the Host header through."""
    settings.PUBLIC_HOST_REDIRECT = False
    assert Client().get("/login/", HTTP_HOST="127.0.0.1:8000").status_code == 200


def test_the_stale_sign_in_page_says_what_happened_and_links_back():
    """A callback with no sign-in waiting: the page names the likely causes, the address to
    use, and links back to it."""
    response = Client().get("/connectors/callback", {"state": "unknown", "code": "c"},
                            HTTP_HOST="localhost:8000")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Sign-in link no longer valid" in html
    assert "another address than" in html and "localhost:8000" in html
    assert f'href="{PUBLIC}/"' in html
    assert "Hatchway" not in html  # customers see this page too


def test_the_middlewares_resolve_a_request_s_path_once(monkeypatch):
    """The body limit and the host check both route on the URL: one resolve serves both
    (core.middleware.url_match), beside the one Django's handler makes for the view."""
    from core import middleware

    calls = []
    real = middleware.resolve

    def counted(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(middleware, "resolve", counted)
    assert Client().get("/metrics", HTTP_HOST="127.0.0.1:8000").status_code != 302
    assert calls == ["/metrics"]
    calls.clear()
    assert Client().get("/no-such-page", HTTP_HOST="127.0.0.1:8000").status_code == 302
    assert calls == ["/no-such-page"]
