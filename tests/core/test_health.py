"""`/healthz/live`: 200 JSON while the process serves, no login, no query, nothing revealed."""

from __future__ import annotations

import pytest

URL = "/healthz/live"


def test_answers_ok_without_login_or_query(client):
    """An anonymous GET gets 200 and {"status": "ok"}; database access is blocked here."""
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_is_never_cached_and_sets_no_cookie(client):
    """Probes always reach the process; the answer starts no session."""
    response = client.get(URL)
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_head_works_and_unsafe_methods_are_refused(client):
    """HEAD is answered like GET; POST is 405."""
    assert client.head(URL).status_code == 200
    assert client.post(URL).status_code == 405


@pytest.mark.django_db
def test_works_behind_the_https_redirect(client, settings):
    """With SECURE_SSL_REDIRECT on, a plain-http probe still gets 200, not a redirect."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(URL).status_code == 200
    assert client.get("/login/").status_code == 301
