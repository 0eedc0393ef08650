"""`<PUBLIC_URL>/connectors/<slug>/callback`: where a connector's provider sends the
browser back (and `<PUBLIC_URL>/connectors/callback`, once every connector's, for sign-ins
begun with it).

The state finds the attempt (for OAuth 1.0a it rides on the callback URL); it must have
been begun with the callback URL the answer arrives at, or it is refused: a provider's
answer for one connector's sign-in at another's is the mix-up attack (RFC 9700 §4.4).
A console sign-in ends on the install's page; a customer's, started through an install
link, on that link's result page: the install link pages (links/) sit above this app, so
they register the function that ends those (`register_link_finisher`, from their
`AppConfig.ready()`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET

from accounts.access import security_log
from connectors.auth.base import InvalidCallback
from connectors.services import callback_url, shared_callback_url
from core.sessions import customer_session, session_hash
from installs.models import AuthAttempt, SignInOutcome
from installs.signin import STALE_MESSAGE, Browser, CallbackOutcome, claim_attempt, finish_callback
from installs.views import install_url

MAX_CALLBACK_QUERY = 2048
MAX_CALLBACK_FIELDS = 30


class MalformedCallback(ValueError):
    """Duplicated, oversized, non-UTF-8 or contradictory callback parameters."""


def callback_params(request: HttpRequest) -> dict[str, str]:
    """The callback's query parameters, refusing anything a provider would not send."""
    raw = request.META.get("QUERY_STRING", "")
    if len(raw) > MAX_CALLBACK_QUERY or not raw.isascii():
        raise MalformedCallback("oversized or not ASCII")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_CALLBACK_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise MalformedCallback("not UTF-8 or too many fields") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise MalformedCallback("duplicated parameter")
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise MalformedCallback("NUL character")
    if "code" in params and "error" in params:
        raise MalformedCallback("both code and error")
    return params


def no_referrer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Every callback response tells the browser to send no Referer (the URL holds a code)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


def _invalid(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The 400 page for a callback refused before any token request (`reason` is logged)."""
    if reason:
        security_log.warning("callback refused: %s", reason)
    return render(request, "callback/invalid.html", {
        "message": STALE_MESSAGE, "public_url": settings.PUBLIC_URL,
        "public_host": urlsplit(settings.PUBLIC_URL).netloc}, status=400)


@no_referrer
@never_cache
@require_GET
@sensitive_variables()
def callback(request: HttpRequest, slug: str = "") -> HttpResponse:
    """`<PUBLIC_URL>/connectors/<slug>/callback` (or the shared `/connectors/callback`).

    The state finds the attempt (for OAuth 1.0a it rides on the callback URL). Anything
    wrong with the state -- or an attempt begun with another callback URL -- is a 400
    before any token request; the outcome of a good one is a redirect (console) or the
    install link's result page (customers).
    """
    try:
        params = callback_params(request)
    except MalformedCallback as exc:
        return _invalid(request, str(exc))
    if not params.get("state"):
        return _invalid(request, "no state")
    try:
        attempt = claim_attempt(state=params["state"], browser=Browser(
            console_session=session_hash(request.session),
            customer_session=session_hash(customer_session(request))),
            callback_url=arrived_at(slug))
    except InvalidCallback:  # claim_attempt logged why
        return _invalid(request)
    outcome = finish_callback(attempt=attempt, params=params)
    if attempt.install_link_id:  # a customer's sign-in: the install link pages' result
        return link_finisher()(request, attempt, outcome.outcome, outcome.message)
    return _console_outcome(request, outcome)


def arrived_at(slug: str) -> str:
    """The callback URL this answer arrived at, as the sign-in would have sent it (built
    from PUBLIC_URL like that one, never from the Host header)."""
    return callback_url(slug) if slug else shared_callback_url()


LinkFinisher = Callable[[HttpRequest, AuthAttempt, str, str], HttpResponse]

#: What ends a customer's sign-in (request, attempt, outcome, message): one entry,
#: registered by the install link pages (links/apps.py).
LINK_FINISHER: dict[str, LinkFinisher] = {}


def register_link_finisher(finisher: LinkFinisher) -> None:
    LINK_FINISHER["finish"] = finisher


def link_finisher() -> LinkFinisher:
    try:
        return LINK_FINISHER["finish"]
    except KeyError:
        raise ImproperlyConfigured("Nothing ends sign-ins started through install links: "
                                   "is the links app in INSTALLED_APPS?") from None


def _console_outcome(request: HttpRequest, outcome: CallbackOutcome) -> HttpResponse:
    install = outcome.install
    if outcome.outcome == SignInOutcome.CONNECTED:
        assert install is not None  # a connected outcome always has its install
        messages.success(request, outcome.message)
        return redirect(install_url(install))
    context = {"install": install, "message": outcome.message, "retry": outcome.retry}
    if outcome.outcome == SignInOutcome.CANCELLED:
        return render(request, "callback/cancelled.html", context)
    return render(request, "callback/error.html", context,
                  status=400 if outcome.bad_request else 200)
