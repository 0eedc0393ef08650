"""What a customer's browser keeps between the install pages, and the answers that carry it.

View code (the services in links/services.py take and return data): the link this
browser opened last, the outcome of its last install, and the partner origin a link was
opened from as a popup live in the customer session (core/sessions.py); the result page
is reached by a redirect, and in popup mode every answer keeps the window's opener.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect

from core.sessions import customer_session
from installs.models import AuthAttempt, Install, SignInOutcome
from links import services as links
from links.models import InstallLink

security_log = logging.getLogger("hatchway.security")

# What the browser session remembers: the link it opened last, the last outcome, and
# the partner origin a link was opened from as a popup.
SESSION_LINK = "install_link_id"
SESSION_RESULT = "install_result"
SESSION_POPUP = "install_popup"

# The event a popup's opener receives for each outcome.
POPUP_EVENTS: dict[str, str] = {SignInOutcome.CONNECTED: "install.completed",
                                SignInOutcome.CANCELLED: "install.cancelled",
                                SignInOutcome.ERROR: "install.failed"}

Response = TypeVar("Response", bound=HttpResponseBase)


def note_opened(request: HttpRequest, link: InstallLink) -> None:
    """Remember the link in the browser session; audit the first opening per session."""
    session = customer_session(request)
    if session.get(SESSION_LINK) == link.pk:
        return
    session[SESSION_LINK] = link.pk
    links.record_opened(link)


def note_popup(request: HttpRequest, link: InstallLink, requested: str | None) -> None:
    """Remember the origin a link was opened from as a popup (`?popup=<origin>`).

    Kept in the session, like the link and its result, so it survives the round trip to
    the provider. Opened again without the parameter (the Back link) nothing changes; a
    value not on the allowlist ends popup mode and is never stored or shown.
    """
    if requested is None:
        return
    origin = links.popup_origin(requested, link.account.partner)
    if origin:
        request.session[SESSION_POPUP] = {"link": link.pk, "origin": origin}
        return
    request.session.pop(SESSION_POPUP, None)
    security_log.info("install link %s: popup origin not on the allowlist", link.pk)


def session_popup_origin(request: HttpRequest, link: InstallLink) -> str:
    """The origin this browser opened `link` from as a popup, if still allowed (checked
    again now: the partner may have changed the allowlist since)."""
    # The customer session: on the OAuth callback request.session is the console's.
    popup = customer_session(request).get(SESSION_POPUP)
    if not isinstance(popup, dict) or popup.get("link") != link.pk:
        return ""
    origin = popup.get("origin")
    if not isinstance(origin, str) or origin not in link.account.partner.allowed_return_origins:
        return ""
    return origin


def popup_message(request: HttpRequest, link: InstallLink,
                  result: dict[str, Any]) -> dict[str, Any] | None:
    """What the result page posts to its opener, and the one origin it may post to; None
    outside popup mode. Ids and the outcome only: never a value or credential."""
    origin = session_popup_origin(request, link)
    if not origin:
        return None
    return {"origin": origin, "message": {
        "event": POPUP_EVENTS.get(str(result.get("outcome")), POPUP_EVENTS[SignInOutcome.ERROR]),
        "connector": result.get("connector"), "install": result.get("install"),
        "account": link.account.external_id,
    }}


def keep_opener(request: HttpRequest, link: InstallLink, response: Response) -> Response:
    """In popup mode, let the opening page keep its handle on this window.

    Every other page is sent with `Cross-Origin-Opener-Policy: same-origin`, under which
    the browser moves a window opened from another origin into a new browsing context
    group and `window.opener` becomes null: the result page could not post its message.
    Set on redirects too, since the browser checks the policy of each response. Only a
    link opened with an allowlisted `?popup=` gets this (its opener held the link's
    token), and the message itself is posted to that origin alone.
    """
    if session_popup_origin(request, link):
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


# --- finishing -------------------------------------------------------------------------


def finish_link(
    request: HttpRequest, *, link: InstallLink, install: Install, outcome: str, message: str = ""
) -> HttpResponse:
    """Record the outcome of an install made through a link and show the result page.

    The browser is redirected to the result page (so the provider's callback URL, with
    its code and state, leaves the address bar at once); the result lives in the session.
    """
    recorded = links.record_outcome(link=link, install=install, outcome=outcome)
    session = customer_session(request)  # the callback's request.session is the console's
    session[SESSION_LINK] = link.pk
    session[SESSION_RESULT] = {
        "link": link.pk, "install": install.pk, "connector": install.connector.slug,
        "outcome": recorded.value, "message": str(message)[:500],
    }
    return keep_opener(request, link, redirect("install:result"))


def finish_link_attempt(
    request: HttpRequest, attempt: AuthAttempt, outcome: str, message: str
) -> HttpResponse:
    """The end of a sign-in started through an install link, handed over by the OAuth
    callback (installs/callback.py)."""
    assert attempt.install_link is not None  # the callback hands over only link attempts
    return finish_link(request, link=attempt.install_link, install=attempt.install,
                       outcome=outcome, message=message)
