"""Customer-facing install pages, reached through an install link (no console login).

Every page wears the partner's branding and nothing of the platform. A link reaches only
its own account's installs; anything else is a branded 404, and an expired or revoked
link a branded 410 -- rendered here rather than raised, so no console error page can
ever be shown to a customer. Starting anything is a POST with CSRF.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import csrf
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Partner
from connectors.auth.base import AuthError
from connectors.models import Connector
from core import origins, request_id
from core.sessions import is_customer_path, session_hash
from installs.forms import InstallForm
from installs.installing import update_install_values
from installs.models import Install, SignInOutcome
from installs.signin import start_authentication
from installs.values import MissingValues, SavedSettings
from links import browser
from links import services as links
from links.branding import brand_context, logo_response, theme_css
from links.models import InstallLink

# Seconds the result page shows "Connected" before it takes the customer back.
RETURN_DELAY = 3


def allow_framing(response: HttpResponseBase, partner: Partner | None) -> HttpResponseBase:
    """Customer pages may be framed only by the origins the partner allowlisted (parsed
    again here: a stored value that is not an origin never reaches the header)."""
    allowed = origins.stored_origins(partner.allowed_frame_origins) if partner else []
    if allowed:
        response._csp_replace = {"frame-ancestors": allowed}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response


def page(request: HttpRequest, link: InstallLink | None, template: str,
         context: dict[str, Any], *, status: int = 200) -> HttpResponseBase:
    """Render a customer page in the link's branding (neutral without a link)."""
    partner = link.account.partner if link else None
    logo_url = ""
    if link:  # pages reached from the result page have no token: its logo URL serves them
        logo_url = (reverse("install:logo", args=[context["token"]]) if context["token"]
                    else reverse("install:result_logo"))
    context = {"brand": brand_context(partner, logo_url=logo_url), **context}
    return allow_framing(render(request, template, context, status=status), partner)


def unavailable(request: HttpRequest, link: InstallLink | None, token: str) -> HttpResponseBase:
    if link is None:
        heading, explanation, status = (
            "Link not found", "This install link is not valid. Check that you copied all of it.",
            404)
    elif link.state == "revoked":
        heading, explanation, status = ("Link revoked", "This install link has been revoked.",
                                        410)
    else:
        heading, explanation, status = ("Link expired", "This install link has expired.", 410)
    return page(request, link, "install/unavailable.html",
                {"token": token, "heading": heading, "explanation": explanation}, status=status)


def not_found(request: HttpRequest, link: InstallLink, token: str) -> HttpResponseBase:
    links.security_log.info("install link %s: foreign or unknown object requested", link.pk)
    return page(request, link, "install/unavailable.html", {
        "token": token, "heading": "Not found",
        "explanation": "This link cannot open what was asked for.",
    }, status=404)


def customer_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Resolve the token to an active link (else a branded refusal) and pass it on; in
    popup mode its answers keep the window's opener (see `browser.keep_opener`)."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
        link = links.find_link(token)
        if link is None or not link.is_active:
            return unavailable(request, link, token)
        request_id.bind(partner_id=link.account.partner_id)
        return browser.keep_opener(request, link, view(request, link, token, *args, **kwargs))

    return never_cache(wrapper)


def connection_rows(link: InstallLink) -> list[dict[str, Any]]:
    """Each offered connector with this account's latest install of it, if any."""
    latest: dict[int, Install] = {}
    for install in links.link_installs(link).order_by("created_at", "pk"):
        latest[install.connector_id] = install
    return [{"connector": c, "install": latest.get(c.pk)} for c in links.offered_connectors(link)]


@require_GET
@customer_page
def landing(request: HttpRequest, link: InstallLink, token: str) -> HttpResponseBase:
    """The link's page; `?popup=<origin>` opens it as a popup of a page at that origin."""
    browser.note_opened(request, link)
    browser.note_popup(request, link, request.GET.get("popup"))
    return page(request, link, "install/landing.html", {
        "token": token, "account_name": link.account.name, "rows": connection_rows(link),
    })


@require_POST
@sensitive_post_parameters()
@customer_page
def connect(request: HttpRequest, link: InstallLink, token: str, slug: str) -> HttpResponseBase:
    """Connect an offered connector: ask what the install needs, then authenticate."""
    return _connect(request, link, token, slug)


def _connect(request: HttpRequest, link: InstallLink, token: str, slug: str
             ) -> HttpResponseBase:
    connector = next((c for c in links.offered_connectors(link) if c.slug == slug), None)
    if connector is None or link.install_id:
        return not_found(request, link, token)
    saved = SavedSettings()
    form = _customer_form(link, connector, saved, data=request.POST)
    if form.fields and request.POST.get("step") != "details":  # ask first
        return _details_page(request, link, token, connector,
                             _customer_form(link, connector, saved))
    if not form.is_valid():
        return _details_page(request, link, token, connector, form)
    install = links.install_to_connect(link=link, connector=connector,
                                       values=form.field_values(), saved=saved)
    response = _authenticate(request, link, install, saved)
    if isinstance(response, MissingValues):
        return browser.finish_link(request, link=link, install=install,
                                 outcome=SignInOutcome.ERROR, message=response.message)
    return response


@require_POST
@sensitive_post_parameters()
@customer_page
def reconnect(request: HttpRequest, link: InstallLink, token: str,
              install_id: int) -> HttpResponseBase:
    """Reauthenticate one of this account's installs in place (same install, same id).

    Values the install still holds are reused; when authentication needs some entered
    again (an API key is consumed by a failed or removed authentication) the form asks.
    """
    return _reconnect(request, link, token, install_id)


def _reconnect(request: HttpRequest, link: InstallLink, token: str, install_id: int
               ) -> HttpResponseBase:
    install = links.link_installs(link).filter(pk=install_id).first()
    offered = {c.pk for c in links.offered_connectors(link)}
    if install is None or install.connector_id not in offered:
        return not_found(request, link, token)
    saved = SavedSettings()
    if request.POST.get("step") == "details":
        form = _customer_form(link, install.connector, saved, install=install,
                              data=request.POST)
        if not form.is_valid():
            return _details_page(request, link, token, install.connector, form)
        install = update_install_values(install=install, name=install.name,
                                        values=form.field_values(), actor=None,
                                        link_id=link.pk, saved=saved)
    response = _authenticate(request, link, install, saved)
    if isinstance(response, MissingValues):
        form = _customer_form(link, install.connector, saved, install=install)
        return _details_page(request, link, token, install.connector, form,
                             error=response.message if request.POST.get("step") else "")
    return response


def _customer_form(link: InstallLink, connector: Connector, saved: SavedSettings, *,
                   install: Install | None = None, data: Any = None) -> InstallForm:
    """The values an install through this link asks the customer for (no install name)."""
    return InstallForm(data, connector=connector, partner=link.account.partner,
                       install=install, ask_name=False, saved=saved)


def _details_page(request: HttpRequest, link: InstallLink, token: str, connector: Connector,
                  form: InstallForm, *, error: str = "") -> HttpResponseBase:
    back_url = reverse("install:landing", args=[token]) if token else reverse("install:result")
    return page(request, link, "install/connect.html", {
        "token": token, "connector": connector, "form": form, "error": error,
        "back_url": back_url,
    })


def _authenticate(request: HttpRequest, link: InstallLink, install: Install,
                  saved: SavedSettings) -> HttpResponseBase | MissingValues:
    """Start the install's authentication: off to the provider, or straight to the result.

    Returns (rather than shows) MissingValues, so the caller can ask for them.
    """
    browser.note_opened(request, link)
    try:
        provider_url = start_authentication(
            install=install, link_id=link.pk, saved=saved,
            # request.session is the customer session here (core/sessions.py)
            session_hash=session_hash(request.session, create=True))
    except MissingValues as missing:
        return missing
    except AuthError as exc:
        return browser.finish_link(request, link=link, install=install,
                                 outcome=SignInOutcome.ERROR, message=exc.message)
    if provider_url:
        return redirect(provider_url)
    return browser.finish_link(request, link=link, install=install,
                             outcome=SignInOutcome.CONNECTED)


# --- result and return ------------------------------------------------------------------


def _session_result(request: HttpRequest) -> tuple[dict[str, Any], InstallLink] | None:
    result = request.session.get(browser.SESSION_RESULT)
    if not isinstance(result, dict):
        return None
    link = (InstallLink.objects.select_related("account__partner")
            # Django takes None for an exact lookup (IS NULL: no link); the stubs do not.
            .filter(pk=result.get("link")).first())  # type: ignore[misc]
    return (result, link) if link else None


HEADINGS = {SignInOutcome.CONNECTED: "Connected",
            SignInOutcome.CANCELLED: "Connection cancelled",
            SignInOutcome.ERROR: "Connection failed"}


@never_cache
@require_GET
def result(request: HttpRequest) -> HttpResponseBase:
    """The outcome of the last install this browser made through a link."""
    found = _session_result(request)
    if found is None:
        return page(request, None, "install/unavailable.html", {
            "token": "", "heading": "Nothing to show",
            "explanation": "There is no recent connection in this browser.",
        }, status=404)
    outcome, link = found
    connector = Connector.objects.visible_to(link.account.partner).filter(
        slug=outcome["connector"]).first()
    return_url = _return_url(link)
    partner = link.account.partner
    others = _still_to_connect(link, outcome["connector"]) if link.is_active else []
    connected = outcome["outcome"] == SignInOutcome.CONNECTED
    context = {
        "heading": HEADINGS.get(outcome["outcome"], "Connection failed"),
        "outcome": outcome["outcome"], "message": outcome.get("message", ""),
        "connector_name": connector.name if connector else "The application",
        "continue_url": reverse("install:continue") if return_url else "",
        # Taken back at once only when there is nothing left to do here.
        "auto_return": bool(return_url) and connected and not others,
        "refresh_seconds": RETURN_DELAY,
        "retry": _retry_install(link, outcome) if link.is_active and not connected else None,
        "others": others,
        "brand": brand_context(partner, logo_url=reverse("install:result_logo")),
        "popup": browser.popup_message(request, link, outcome),
    }
    response = render(request, "install/result.html", context)
    return allow_framing(browser.keep_opener(request, link, response), partner)


def _still_to_connect(link: InstallLink, done_slug: str) -> list[dict[str, Any]]:
    """The link's other connectors not connected yet (what "Connect another app" lists)."""
    return [row for row in connection_rows(link) if row["connector"].slug != done_slug
            and (row["install"] is None
                 or row["install"].status != Install.Status.AUTHENTICATED)]


def _retry_install(link: InstallLink, outcome: dict[str, Any]) -> Install | None:
    """The install the last sign-in through `link` was for, if the link still reaches it."""
    offered = {c.pk for c in links.offered_connectors(link)}
    # Django takes None for an exact lookup (no install: no match); the stubs do not.
    install = links.link_installs(link).filter(pk=outcome.get("install")).first()  # type: ignore[misc]
    return install if install is not None and install.connector_id in offered else None


def session_link_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """For the result page's buttons (it has no token): the link of this browser's last
    result, while it is active (else the branded refusal), and that result."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        found = _session_result(request)
        if found is None:
            return redirect("install:result")
        outcome, link = found
        if not link.is_active:
            return unavailable(request, link, "")
        request_id.bind(partner_id=link.account.partner_id)
        return browser.keep_opener(request, link, view(request, link, outcome, *args, **kwargs))

    return never_cache(wrapper)


@require_POST
@sensitive_post_parameters()
@session_link_page
def result_reconnect(request: HttpRequest, link: InstallLink, outcome: dict[str, Any],
                     install_id: int) -> HttpResponseBase:
    """"Try again" after a failed or cancelled sign-in (the same install, once more), or
    Reconnect another of the link's installs, from the result page."""
    return _reconnect(request, link, "", install_id)


@require_POST
@sensitive_post_parameters()
@session_link_page
def result_connect(request: HttpRequest, link: InstallLink, outcome: dict[str, Any],
                   slug: str) -> HttpResponseBase:
    """"Connect another app" from the result page: another of the link's connectors."""
    return _connect(request, link, "", slug)


def _return_url(link: InstallLink) -> str:
    """The link's return URL if it is still on the partner's allowlist (checked again now)."""
    url = link.return_url
    return url if url and links.is_allowed_return_url(url, link.account.partner) else ""


@never_cache
@require_GET
def continue_to_return_url(request: HttpRequest) -> HttpResponseBase:
    """302 to the link's return URL with `status` and `connector` -- never a credential."""
    found = _session_result(request)
    return_url = _return_url(found[1]) if found else ""
    if found is None or not return_url:
        return redirect("install:result")
    outcome = found[0]
    return redirect(origins.return_url_with_outcome(
        return_url, outcome=outcome["outcome"], connector_slug=outcome["connector"]))


# --- refusals outside the views ------------------------------------------------------


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponseBase:
    """CSRF_FAILURE_VIEW: on customer pages a 403 in the link's partner branding (a
    customer never sees a console page); Django's own 403 everywhere else."""
    if not is_customer_path(request.path_info):
        return csrf.csrf_failure(request, reason=reason)
    token = request.path_info.removeprefix(settings.CUSTOMER_PATH_PREFIX).split("/", 1)[0]
    link = links.find_link(token)
    links.security_log.warning("install page refused: CSRF check failed")
    return page(request, link, "install/unavailable.html", {
        "token": token if link else "", "heading": "Page expired",
        "explanation": "This page was open too long or its cookies were blocked. Open the "
                       "install link again and retry.",
    }, status=403)


# --- assets ----------------------------------------------------------------------------


@require_GET
def theme(request: HttpRequest, colour: str) -> HttpResponse:
    """The partner colour as CSS custom properties (see links/branding.py for why)."""
    response = HttpResponse(theme_css(colour), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@require_GET
def result_logo(request: HttpRequest) -> HttpResponse:
    """The logo for the result page, which has no token: the partner of this browser's
    last install through a link (the same session entry the result page reads)."""
    found = _session_result(request)
    if found is None or not found[1].account.partner.logo:
        return HttpResponse(status=404)
    return logo_response(found[1].account.partner)


@require_GET
def logo(request: HttpRequest, token: str) -> HttpResponse:
    """The partner's logo for pages of one of its links (expired or revoked ones too)."""
    link = links.find_link(token)
    if link is None or not link.account.partner.logo:
        return HttpResponse(status=404)
    return logo_response(link.account.partner)
