"""core.sessions: the console's and the customer pages' sessions, and their cookies.
(Through real pages, in iframes: tests/security/test_customer_cookies.py.)"""

from __future__ import annotations

import hashlib

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import RequestFactory

from core import sessions

pytestmark = pytest.mark.django_db


def through_middleware(path: str, *, cookies: dict[str, str], view):
    request = RequestFactory().get(path)
    request.COOKIES.update(cookies)
    middleware = sessions.SessionMiddleware(lambda r: view(r))
    return request, middleware(request)


def test_customer_paths_have_their_own_session_and_csrf_cookie():
    console = SessionStore()
    console["_auth_user_id"] = "7"
    console.save()

    def view(request):
        assert "_auth_user_id" not in request.session  # nothing of the console's
        assert request.COOKIES["csrftoken"] == "customer-csrf"  # the customer's, renamed
        request.session["flow"] = "install"
        response = HttpResponse("ok")
        response.set_cookie("csrftoken", "new-token")
        return response

    request, response = through_middleware(
        "/install/acme/", view=view, cookies={"sessionid": console.session_key,
                                               "csrftoken": "console-csrf",
                                               "install_csrftoken": "customer-csrf"})
    assert request.session is request.customer_session
    cookie = response.cookies["install_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "None; Partitioned"
    assert SessionStore(cookie.value)["flow"] == "install"
    assert "csrftoken" not in response.cookies
    assert response.cookies["install_csrftoken"].value == "new-token"
    assert response.cookies["install_csrftoken"]["samesite"] == "None; Partitioned"
    assert "sessionid" not in response.cookies  # the console's session untouched


def test_console_paths_keep_the_lax_console_session():
    def view(request):
        request.session["seen"] = True
        return HttpResponse("ok")

    request, response = through_middleware("/accounts/", cookies={}, view=view)
    assert request.session is request.console_session
    assert response.cookies[settings.SESSION_COOKIE_NAME]["samesite"] == "Lax"
    assert "install_session" not in response.cookies
    assert "Cookie" in response["Vary"]


def test_an_emptied_session_deletes_its_cookie():
    customer = SessionStore()
    customer["flow"] = "x"
    customer.save()

    def view(request):
        request.session.flush()
        return HttpResponse("ok")

    _request, response = through_middleware(
        "/install/acme/", cookies={"install_session": customer.session_key}, view=view)
    assert response.cookies["install_session"].value == ""
    assert response.cookies["install_session"]["max-age"] == 0


def test_no_cookie_on_a_server_error():
    def view(request):
        request.session["x"] = 1
        return HttpResponse("boom", status=500)

    _request, response = through_middleware("/accounts/", cookies={}, view=view)
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_session_hash():
    session = SessionStore()
    assert sessions.session_hash(session) == ""
    digest = sessions.session_hash(session, create=True)
    assert session.session_key and session.modified
    assert digest == hashlib.sha256(session.session_key.encode()).hexdigest()


def test_customer_session_falls_back_to_the_requests_own():
    request = RequestFactory().get("/install/x/")
    request.session = SessionStore()
    assert sessions.customer_session(request) is request.session
    assert sessions.is_customer_path("/install/x/") and not sessions.is_customer_path("/x/")
