"""Two browser sessions: the console's and the customer pages'.

The console's session cookie is SameSite=Lax: it never goes with a cross-site request
(the provider's redirect back is a top-level GET, which Lax allows). Customer install
pages must also work inside a partner's iframe on another site, where a Lax cookie is
never sent -- so they have a session of their own, under its own cookie
(CUSTOMER_SESSION_COOKIE_NAME, SameSite=None; Secure; HttpOnly; Partitioned), that holds
nothing of the console's, and their own CSRF cookie (CUSTOMER_CSRF_COOKIE_NAME, the same
attributes): Django's CsrfViewMiddleware, placed after this one, reads and writes
`csrftoken` as always, and on customer paths this middleware hands it the customer's
cookie and renames what it sets. The console's cookies stay SameSite=Lax.

On customer paths (CUSTOMER_PATH_PREFIX) `request.session` is the customer session;
everywhere else it is the console's, and `customer_session(request)` reaches the
customer's (the OAuth callback ends customers' sign-ins too).
"""

from __future__ import annotations

import hashlib
import time
from typing import Literal, cast

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date


def is_customer_path(path: str) -> bool:
    return path.startswith(settings.CUSTOMER_PATH_PREFIX)


def customer_session(request: HttpRequest) -> SessionBase:
    """The customer pages' session (the request's own session where no middleware ran)."""
    return cast(SessionBase, getattr(request, "customer_session", request.session))


def session_hash(session: SessionBase, *, create: bool = False) -> str:
    """SHA-256 of the browser's session key ('' without one); with `create`, make sure
    there is a session (a sign-in is bound to it)."""
    if not session.session_key:
        if not create:
            return ""
        session.save()
        session.modified = True  # so the middleware sends the cookie
    session_key = session.session_key
    assert session_key is not None  # save() above gave the session one
    return hashlib.sha256(session_key.encode()).hexdigest()


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, once for the console's cookie and once for the
    customer pages' (same engine, same expiry rules)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.console_session = request.session  # type: ignore[attr-defined]
        request.customer_session = self.SessionStore(  # type: ignore[attr-defined]
            request.COOKIES.get(settings.CUSTOMER_SESSION_COOKIE_NAME))
        if is_customer_path(request.path_info):
            request.session = request.customer_session  # type: ignore[attr-defined]
            cookies = dict(request.COOKIES)  # the console's csrftoken never counts here
            cookies.pop(settings.CSRF_COOKIE_NAME, None)
            customer_csrf = cookies.get(settings.CUSTOMER_CSRF_COOKIE_NAME)
            if customer_csrf is not None:
                cookies[settings.CSRF_COOKIE_NAME] = customer_csrf
            request.COOKIES = cookies

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        console = getattr(request, "console_session", None)
        customer = getattr(request, "customer_session", None)
        if console is not None:
            save_session(request, response, console, name=settings.SESSION_COOKIE_NAME,
                         secure=settings.SESSION_COOKIE_SECURE,
                         samesite="Lax")  # the console's, as SESSION_COOKIE_SAMESITE says
        if customer is not None:
            name = settings.CUSTOMER_SESSION_COOKIE_NAME
            save_session(request, response, customer, name=name, secure=True, samesite="None")
            partition(response, name)
        if is_customer_path(request.path_info) and settings.CSRF_COOKIE_NAME in response.cookies:
            morsel = response.cookies.pop(settings.CSRF_COOKIE_NAME)
            response.set_cookie(settings.CUSTOMER_CSRF_COOKIE_NAME, morsel.value,
                                max_age=settings.CSRF_COOKIE_AGE, path=settings.CSRF_COOKIE_PATH,
                                domain=settings.CSRF_COOKIE_DOMAIN, secure=True,
                                httponly=bool(settings.CSRF_COOKIE_HTTPONLY), samesite="None")
            partition(response, settings.CUSTOMER_CSRF_COOKIE_NAME)
        return response


def partition(response: HttpResponse, name: str) -> None:
    """CHIPS: browsers that block third-party cookies (Chrome's incognito, Safari, Firefox)
    still keep a Partitioned one, for that embedding site only. Python < 3.14 has no
    attribute for it, so it rides on SameSite's."""
    if name in response.cookies:
        response.cookies[name]["samesite"] = "None; Partitioned"


def save_session(request: HttpRequest, response: HttpResponse, session: SessionBase, *,
                 name: str, secure: bool, samesite: Literal["Lax", "Strict", "None"]) -> None:
    """Django's SessionMiddleware.process_response for one session and its cookie."""
    if name in request.COOKIES and session.is_empty():
        response.delete_cookie(name, path=settings.SESSION_COOKIE_PATH,
                               domain=settings.SESSION_COOKIE_DOMAIN, samesite=samesite)
        patch_vary_headers(response, ("Cookie",))
        return
    if session.accessed:
        patch_vary_headers(response, ("Cookie",))
    if not (session.modified or settings.SESSION_SAVE_EVERY_REQUEST) or session.is_empty():
        return
    if response.status_code >= 500:
        return
    max_age: int | None = None
    expires: str | None = None
    if not session.get_expire_at_browser_close():
        max_age = session.get_expiry_age()
        expires = http_date(time.time() + max_age)
    try:
        session.save()
    except UpdateError:
        raise SessionInterrupted("The request's session was deleted before the request "
                                 "completed.") from None
    response.set_cookie(name, str(session.session_key), max_age=max_age, expires=expires,
                        domain=settings.SESSION_COOKIE_DOMAIN,
                        path=settings.SESSION_COOKIE_PATH, secure=secure,
                        httponly=bool(settings.SESSION_COOKIE_HTTPONLY), samesite=samesite)
    patch_vary_headers(response, ("Cookie",))

